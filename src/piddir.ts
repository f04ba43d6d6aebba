// The pid file's directory: created when missing (as the Python original does), and trusted only
// when nobody but the caller, root and the daemon's own user can change what is in it.
import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { missingLevels, nearestExisting } from './dirs.js';
import { DaemonError, EXIT, reason } from './errors.js';

/** Where a pid file lives, as far as trust goes. */
export interface PidPlace {
  /**
   * The derived default directory: a real directory of the caller's alone, as tmux requires of its
   * socket directory (root's may be readable by others: nobody but root can write to it).
   */
  isDefault: boolean;
  /** The daemon's own --user/--group: a directory created for its pid file is given to them, and trusted. */
  uid?: number;
  gid?: number;
}

export const ANY_PLACE: PidPlace = { isDefault: false };

export function placeOf(opts: { defaultPidFile: boolean; credentials: { uid: number | undefined; gid: number | undefined } }): PidPlace {
  return { isDefault: opts.defaultPidFile, uid: opts.credentials.uid, gid: opts.credentials.gid };
}

const callerUid = (): number => process.getuid?.() ?? 0;

/** Owners whose files and directories may be trusted: root, the caller, and the daemon's own user. */
export function trustedOwners(place: PidPlace): Set<number> {
  const owners = new Set([0, callerUid()]);
  if (place.uid !== undefined) owners.add(place.uid);
  return owners;
}

/** How an untrusted owner is named in a refusal: "not root", or "not uid 1000 or root". */
export function expectedOwner(place: PidPlace): string {
  const names = [...trustedOwners(place)].filter((uid) => uid !== 0).map((uid) => `uid ${uid}`);
  return names.length === 0 ? 'not root' : `not ${names.join(', ')} or root`;
}

function unusable(message: string): DaemonError {
  return new DaemonError('pidfile-unusable', message, { exitCode: EXIT.unknownStatus });
}

const modeText = (st: Stats): string => (st.mode & 0o7777).toString(8).padStart(3, '0');

/**
 * Refuses a pid file whose directory another user could swap files in. A missing directory
 * passes: it is created (or reported) where it is needed.
 */
export function checkPidDir(path: string, place: PidPlace): void {
  const dir = dirname(path);
  let st: Stats;
  try {
    st = place.isDefault ? lstatSync(dir) : statSync(dir);
  } catch {
    return;
  }
  if (place.isDefault) {
    const me = callerUid();
    const refuse = (why: string) => unusable(`Cannot use pid directory ${dir}: ${why}; refusing to trust it`);
    if (st.isSymbolicLink()) throw refuse('it is a symbolic link');
    if (!st.isDirectory()) throw refuse('it is not a directory');
    if (st.uid !== me) throw refuse(`it is owned by uid ${st.uid}, ${me === 0 ? 'not root' : `not uid ${me}`}`);
    // Root's /run/daemonocle may stay readable (0755, as earlier versions made it): only root writes there.
    const denied = me === 0 ? 0o022 : 0o077;
    if ((st.mode & denied) !== 0) throw refuse(`other users have access to it (mode ${modeText(st)}, not 700)`);
    return;
  }
  if (!trustedOwners(place).has(st.uid)) {
    const hint = callerUid() === 0 ? ` (if uid ${st.uid} is the daemon's own user, say so with --user)` : '';
    throw unusable(`Cannot use pid file ${path}: its directory ${dir} is owned by uid ${st.uid}, ${expectedOwner(place)}; refusing to trust it${hint}`);
  }
  const sticky = (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) {
    throw unusable(`Cannot use pid file ${path}: its directory ${dir} is writable by other users (mode ${modeText(st)}); refusing to trust it`);
  }
}

function unwritable(message: string, cause?: unknown): DaemonError {
  return new DaemonError('pidfile-unwritable', message, { cause });
}

/**
 * Creates the pid file's directory when missing: 0755 and given to --user/--group, or 0700 for
 * the default one. Missing parents are made 0755, one level at a time (src/dirs.ts). Whether it
 * may be used is checkPidDir's to say.
 */
export function ensurePidDir(path: string, place: PidPlace): void {
  const dir = dirname(path);
  if (!exists(path, dir)) {
    createLevels(path, dirname(dir));
    const made = makeDir(path, dir, place.isDefault ? 0o700 : 0o755);
    if (made && !place.isDefault && (place.uid !== undefined || place.gid !== undefined)) {
      try {
        chownSync(dir, place.uid ?? -1, place.gid ?? -1);
      } catch (err) {
        throw unwritable(`Cannot give directory ${dir} to the daemon's user: ${reason(err)}`, err);
      }
    }
  }
}

/** Whether dir exists as a directory; anything else in the way is an error naming the pid file. */
function exists(path: string, dir: string): boolean {
  try {
    if (statSync(dir).isDirectory()) return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw unwritable(`Cannot write pid file ${path}: ${reason(err)}`, err);
  }
  throw unwritable(`Cannot write pid file ${path}: ${dir} is not a directory`);
}

/** The missing levels above the pid file's directory, 0755; a non-directory in the way is an error. */
function createLevels(path: string, dir: string): void {
  const missing = missingLevels(dir);
  exists(path, nearestExisting(dir, missing));
  for (const level of missing) makeDir(path, level, 0o755);
}

/** Whether this call made the directory (one made meanwhile by someone else is left to checkPidDir). */
function makeDir(path: string, dir: string, mode: number): boolean {
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw unwritable(`Cannot create directory ${dir} for pid file ${path}: ${reason(err)}`, err);
  }
  try {
    chmodSync(dir, mode); // exactly this mode, whatever the umask
  } catch (err) {
    throw unwritable(`Cannot create directory ${dir} for pid file ${path}: ${reason(err)}`, err);
  }
  return true;
}
