// The pid file's directory: created when missing (as the Python original does), and trusted only
// when nobody but the caller, root and the daemon's own user can change what is in it.
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { DaemonError, EXIT } from '../base/errors.js';
import { callerUid, expectedOwners, ownersTrusted, walkDir, WalkError, type CreateRule, type WalkedDir } from '../base/safe-path.js';

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


/** Owners whose files and directories may be trusted: root, the caller, and the daemon's own user. */
export const trustedOwners = (place: PidPlace): Set<number> => ownersTrusted({ userUid: place.uid });

/** How an untrusted owner is named in a refusal: "not root", or "not uid 1000 or root". */
export const expectedOwner = (place: PidPlace): string => expectedOwners({ userUid: place.uid });

function unusable(message: string): DaemonError {
  return new DaemonError('pidfile-unusable', message, { exitCode: EXIT.unknownStatus });
}

function unwritable(message: string, cause?: unknown): DaemonError {
  return new DaemonError('pidfile-unwritable', message, { cause });
}

const modeText = (st: Stats): string => (st.mode & 0o7777).toString(8).padStart(3, '0');

/**
 * The derived default directory: a real directory of the caller's alone, as tmux requires of its
 * socket directory (root's may stay readable, 0755 as earlier versions made it: only root writes).
 */
function defaultDirRule(st: Stats): string | undefined {
  const me = callerUid();
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== me) return `it is owned by uid ${st.uid}, ${me === 0 ? 'not root' : `not uid ${me}`}`;
  const denied = me === 0 ? 0o022 : 0o077;
  if ((st.mode & denied) !== 0) return `other users have access to it (mode ${modeText(st)}, not 700)`;
  return undefined;
}

/** The walk's refusal or failure as the pid file's ERROR. */
function pidDirError(path: string, dir: string, place: PidPlace, err: WalkError): DaemonError {
  if (err.kind === 'mkdir') return unwritable(`Cannot create directory ${err.path} for pid file ${path}: ${err.why}`, err.cause);
  if (err.kind === 'failed') return unwritable(`Cannot write pid file ${path}: ${err.why}`, err.cause);
  if (place.isDefault && err.path === dir) return unusable(`Cannot use pid directory ${dir}: ${err.why}; refusing to trust it`);
  const which = err.path === dir ? `its directory ${dir}` : `the directory ${err.path} above it`;
  const owned = /^it is owned by uid (\d+)/.exec(err.why);
  const hint = owned && callerUid() === 0 && place.uid === undefined ? ` (if uid ${owned[1]} is the daemon's own user, say so with --user)` : '';
  return unusable(`Cannot use pid file ${path}: ${which} ${err.why.replace(/^it /, '')}; refusing to trust it${hint}`);
}

/**
 * The pid file's directory, walked from / and open (src/base/safe-path.ts): the handle every read,
 * lock, write and removal of the pid file goes through. With `create`, missing levels are made:
 * 0755 and given to --user/--group, or 0700 for the default one (missing parents 0755). Without
 * it, a missing directory is undefined.
 */
export function openPidDir(path: string, place: PidPlace, create: boolean): WalkedDir | undefined {
  const dir = dirname(path);
  const rule: CreateRule = place.isDefault ? { mode: 0o700 } : { mode: 0o755, uid: place.uid, gid: place.gid };
  try {
    return walkDir(dir, { userUid: place.uid }, create ? rule : undefined, place.isDefault ? defaultDirRule : undefined);
  } catch (err) {
    if (!(err instanceof WalkError)) throw err;
    if (err.kind === 'missing' && !create) return undefined;
    if (err.kind === 'missing' || (err.kind === 'failed' && /not a directory/.test(err.why))) {
      throw unwritable(`Cannot write pid file ${path}: not a directory`, err);
    }
    throw pidDirError(path, dir, place, err);
  }
}
