// Node 22.1+ can keep the compiled code of this CLI's modules between runs
// (module.enableCompileCache): 1.5-3 ms of every action, measured by `npm run bench`. The cache
// lives in the caller's own cache directory, never somewhere another user could write code into
// it: $XDG_CACHE_HOME/daemonocle (or ~/.cache/daemonocle), created 0700, used only when it and
// every directory above it are real directories owned by root or the caller that nobody else can
// write (so a HOME that names another user's home, as `sudo -E` may leave it, is never used as
// root: its owner could swap the directory after the check), and the directory itself is the
// caller's own with no group or other permission bits at all (0700: one made by something else,
// or loosened since, is not ours to fill). Node makes a subdirectory per Node version inside it
// with mkdir's 0777 less the umask: it is made under umask 077 (0700 even under umask 000), and
// one that an older daemonocle left group- or other-writable is made 0700 before use. Anything
// else (no home, a read-only file system, an older Node, a directory or entry that fails the
// check) means no cache, silently, at the cost of a stat or a failed mkdir.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import module from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { missingLevels, nearestExisting } from './make-dirs.js';

type WithCompileCache = typeof module & { enableCompileCache?: (dir: string) => unknown };

function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : env.HOME && isAbsolute(env.HOME) ? join(env.HOME, '.cache') : undefined;
  return base === undefined ? undefined : join(base, 'daemonocle');
}

/** dir and each directory above it: not a symlink, owned by root or the caller, writable by no one else. */
function securePath(dir: string): boolean {
  const uid = process.getuid?.();
  for (let at = dir; ; at = dirname(at)) {
    try {
      const st = lstatSync(at);
      if (!st.isDirectory() || (st.uid !== 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) return false;
    } catch {
      return false;
    }
    if (dirname(at) === at) return true;
  }
}

/** The cache directory is the caller's own and 0700 (no group or other bits); every entry in it
 *  is a real directory of the caller's, made 0700 here if it was group- or other-writable. Nobody
 *  else can enter a 0700 directory, so nothing can be swapped under these checks. */
function privateCache(dir: string): boolean {
  const uid = process.getuid?.();
  try {
    const st = lstatSync(dir);
    if (st.uid !== uid || (st.mode & 0o077) !== 0) return false;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const entry = lstatSync(path);
      if (!entry.isDirectory() || entry.uid !== uid) return false;
      if ((entry.mode & 0o022) !== 0) chmodSync(path, entry.mode & 0o700);
    }
    return true;
  } catch {
    return false;
  }
}

export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (module as WithCompileCache).enableCompileCache;
  const dir = cacheDirectory(env);
  if (typeof enable !== 'function' || dir === undefined) return;
  // Nothing is created under a directory that fails the check (another user's home, say).
  const missing = missingLevels(dir);
  if (!securePath(nearestExisting(dir, missing))) return;
  try {
    for (const level of missing) mkdirSync(level, { mode: 0o700 });
  } catch {
    return;
  }
  if (!securePath(dir) || !privateCache(dir)) return;
  // Node makes its version subdirectory now, with 0777 less the umask: 0700 under 077.
  const umask = process.umask(0o077);
  try {
    enable(dir);
  } finally {
    process.umask(umask);
  }
}
