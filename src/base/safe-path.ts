// Walking a path as root without letting an ordinary user steer it. Every directory from `/` down
// is opened with O_DIRECTORY|O_NOFOLLOW relative to the one above it, checked on the open fd, and
// created, chmod'ed and chown'ed through that fd, so nothing can be swapped between a check and
// its use. Node has no openat/mkdirat: the same calls are made through /proc/self/fd/N/NAME, where
// the kernel resolves the magic link to exactly the directory that fd holds and only NAME is
// looked up (and, with O_NOFOLLOW, never followed).
//
// Trust: root and the caller may own anything on the path; the daemon's own --user may own
// directories too (its home), which makes everything below them "the user's" (it can rename and
// replace entries there at will); any other owner, a directory others can write without the sticky
// bit, or a symlink owned by someone else is refused.
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { reason } from './errors.js';

/** O_PATH (Linux's value on every architecture Node ships for): walking needs search permission, not read. */
const O_PATH = 0o10000000;
const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const MAX_LINKS = 40;

/** Who may own what is on the path. */
interface PathTrust {
  /** The daemon's --user: its directories may be walked, and what is in them is the user's. */
  userUid?: number;
}

/** What makes a directory when it is missing. The final level gets `mode` and the owner; missing parents 0755. */
export interface CreateRule {
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * The last level judged by the caller's own rule instead of the path's (the default pid directory
 * must be the caller's alone): a symlink there is refused, never followed.
 */
type FinalRule = (st: Stats) => string | undefined;

/** An open, checked directory: files in it are reached by name through `at()`. */
export interface WalkedDir {
  fd: number;
  path: string;
  stat: Stats;
  /** The daemon's --user can change entries here (it owns this directory or one above it). */
  userControlled: boolean;
  at(name: string): string;
  close(): void;
}

/** Why a walk stopped: the path to name in the message, and the reason. */
export class WalkError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
    /** untrusted: refused by the rules; missing: a level is not there; mkdir: it could not be made; failed: anything else. */
    readonly kind: 'untrusted' | 'missing' | 'mkdir' | 'failed',
    readonly cause?: unknown,
  ) {
    super(`${path}: ${why}`);
  }
}

const atFd = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

/** The uid this process runs as (root, or the ordinary user who called). */
export const callerUid = (): number => process.getuid?.() ?? 0;
const modeText = (st: Stats): string => (st.mode & 0o7777).toString(8).padStart(3, '0');

/** Whether owner may own a directory or symlink on the path, and whether that makes it the user's. */
function ownerTrust(uid: number, trust: PathTrust): 'trusted' | 'user' | 'untrusted' {
  if (uid === 0 || uid === callerUid()) return 'trusted';
  if (trust.userUid !== undefined && uid === trust.userUid) return 'user';
  return 'untrusted';
}

/** The reason a directory must not be walked through, or undefined. */
function distrust(st: Stats, trust: PathTrust): string | undefined {
  if (!st.isDirectory()) return 'not a directory';
  if (ownerTrust(st.uid, trust) === 'untrusted') return `it is owned by uid ${st.uid}, ${expectedOwners(trust)}`;
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `it is writable by other users (mode ${modeText(st)})`;
  return undefined;
}

/** Owners whose files may be trusted: root, the caller, and the daemon's own user. */
export function ownersTrusted(trust: PathTrust): Set<number> {
  const owners = new Set([0, callerUid()]);
  if (trust.userUid !== undefined) owners.add(trust.userUid);
  return owners;
}

/** How an untrusted owner is named in a refusal: "not root", or "not uid 1000 or root". */
export function expectedOwners(trust: PathTrust): string {
  const uids = [...ownersTrusted(trust)].filter((u) => u !== 0);
  return uids.length === 0 ? 'not root' : `not ${uids.map((u) => `uid ${u}`).join(', ')} or root`;
}

function openDirAt(parent: number, name: string): number {
  return name === '/' ? openSync('/', DIR_FLAGS) : openSync(atFd(parent, name), DIR_FLAGS);
}

/**
 * Makes `name` in the directory `parent` and applies the rule through an fd of the new directory:
 * the mode exactly (whatever the umask) and the owner. Only an empty directory of our own is
 * changed, so one swapped in meanwhile (only the --user could, in a directory it owns) keeps its
 * mode and owner and is judged like any other.
 */
function makeDirAt(parent: number, name: string, rule: CreateRule, display: string): boolean {
  try {
    mkdirSync(atFd(parent, name), { mode: rule.mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new WalkError(display, reason(err), 'mkdir', err);
  }
  let fd: number;
  try {
    fd = openSync(atFd(parent, name), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return true; // Replaced already: the walk looks again and judges what is there.
  }
  try {
    const st = fstatSync(fd);
    if (st.uid !== (process.geteuid?.() ?? 0) || readdirSync(atFd(fd, '.')).length > 0) return true;
    fchmodSync(fd, rule.mode);
    if (rule.uid !== undefined || rule.gid !== undefined) fchownSync(fd, rule.uid ?? -1, rule.gid ?? -1);
  } catch (err) {
    throw new WalkError(display, reason(err), 'mkdir', err);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Opens dir by walking it from `/` (see the file's header). With `create`, missing levels are made
 * (parents 0755, the last one by the rule); without it a missing level is a 'missing' WalkError.
 */
export function walkDir(dir: string, trust: PathTrust, create?: CreateRule, final?: FinalRule): WalkedDir {
  const target = resolve(dir);
  const queue = target.split('/').filter((c) => c !== '' && c !== '.');
  let fd = openDirAt(-1, '/');
  let st = fstatSync(fd);
  let shown = '/';
  const stack: { fd: number; shown: string; user: boolean }[] = [];
  let user = false;
  let links = 0;
  const fail = (e: WalkError): never => {
    closeSync(fd);
    for (const s of stack) closeSync(s.fd);
    throw e;
  };
  const rootDistrust = distrust(st, trust);
  if (rootDistrust) fail(new WalkError('/', rootDistrust, 'untrusted'));
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (name === '..') {
      const up = stack.pop();
      if (up) {
        closeSync(fd);
        ({ fd, shown, user } = up);
        st = fstatSync(fd);
      }
      continue;
    }
    const here = shown === '/' ? `/${name}` : `${shown}/${name}`;
    const last = queue.length === 0;
    let entry: Stats | undefined;
    try {
      entry = lstatSync(atFd(fd, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fail(new WalkError(here, reason(err), 'failed', err));
    }
    if (entry === undefined) {
      if (create === undefined) fail(new WalkError(here, 'no such file or directory', 'missing'));
      try {
        makeDirAt(fd, name, last ? create! : { mode: 0o755 }, here);
      } catch (err) {
        fail(err as WalkError);
      }
      queue.unshift(name);
      continue;
    }
    if (entry.isSymbolicLink()) {
      if (last && final) fail(new WalkError(here, 'it is a symbolic link', 'untrusted'));
      // Below the --user's own directory nothing is followed: it could point anywhere.
      if (user) fail(new WalkError(here, 'it is a symbolic link in a directory of the daemon\'s user', 'untrusted'));
      if (ownerTrust(entry.uid, trust) !== 'trusted') fail(new WalkError(here, `it is a symbolic link owned by uid ${entry.uid}`, 'untrusted'));
      if (++links > MAX_LINKS) fail(new WalkError(here, 'too many levels of symbolic links', 'failed'));
      const link = readlinkSync(atFd(fd, name));
      const parts = link.split('/').filter((c) => c !== '' && c !== '.');
      if (link.startsWith('/')) {
        closeSync(fd);
        for (const s of stack) closeSync(s.fd);
        stack.length = 0;
        fd = openDirAt(-1, '/');
        shown = '/';
        user = false;
      }
      queue.unshift(...parts);
      continue;
    }
    let next: number;
    try {
      next = openDirAt(fd, name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOENT') {
        queue.unshift(name); // Swapped between the lstat and the open: look again.
        if (++links > MAX_LINKS) fail(new WalkError(here, 'it keeps changing', 'failed', err));
        continue;
      }
      fail(new WalkError(here, code === 'ENOTDIR' ? 'not a directory' : reason(err), 'failed', err));
    }
    const nextStat = fstatSync(next!);
    const why = last && final ? final(nextStat) : distrust(nextStat, trust);
    if (why) {
      closeSync(next!);
      fail(new WalkError(here, why, 'untrusted'));
    }
    stack.push({ fd, shown, user });
    fd = next!;
    st = nextStat;
    shown = here;
    user ||= ownerTrust(nextStat.uid, trust) === 'user';
  }
  for (const s of stack) closeSync(s.fd);
  const opened = fd;
  return {
    fd: opened,
    path: target,
    stat: st,
    userControlled: user,
    at: (name) => atFd(opened, name),
    close: () => {
      try {
        closeSync(opened);
      } catch {
        // Already closed.
      }
    },
  };
}
