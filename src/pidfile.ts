// The pid file is the truth, checked. Format: line 1 the bare pid, line 2 the daemon's start
// time in clock ticks since boot (from /proc), so identity survives wall-clock changes.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { DaemonError, EXIT, reason } from './errors.js';
import { warn } from './log.js';
import { lockExclusive } from './native.js';
import { ANY_PLACE, checkPidDir, ensurePidDir, expectedOwner, trustedOwners, type PidPlace } from './piddir.js';
import { isGone, readStat, selfAndAncestors, startedAtMs, type ProcStat } from './proc.js';

export type PidFileState =
  | { kind: 'missing' }
  | { kind: 'running'; pid: number; stat: ProcStat }
  | { kind: 'stale'; pid: number }
  | { kind: 'broken' };

/** A pid file we did not write: the process must not have started after the file's mtime. */
const FOREIGN_MTIME_TOLERANCE_MS = 2000;
const MAX_PID = 4194304;
const READ_LIMIT = 256;

function unusable(path: string, why: string, cause?: unknown): DaemonError {
  return new DaemonError('pidfile-unusable', `Cannot use pid file ${path}: ${why}`, { exitCode: EXIT.unknownStatus, cause });
}

/**
 * Reads at most READ_LIMIT bytes without following a symlink; undefined when there is no file.
 * A file owned by a user other than root, the caller or the daemon's own user is refused.
 */
function readGuarded(path: string, place: PidPlace): { text: string; mtimeMs: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'EMLINK') throw unusable(path, 'it is a symbolic link', err);
    throw unusable(path, reason(err), err);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw unusable(path, 'it is a directory');
    if (!st.isFile()) throw unusable(path, 'it is not a regular file');
    if (!trustedOwners(place).has(st.uid)) {
      throw unusable(path, `it is owned by uid ${st.uid}, ${expectedOwner(place)}; refusing to trust it`);
    }
    const buf = Buffer.alloc(READ_LIMIT);
    let n: number;
    try {
      n = readSync(fd, buf, 0, READ_LIMIT, 0);
    } catch (err) {
      throw unusable(path, reason(err), err);
    }
    return { text: buf.subarray(0, n).toString('latin1'), mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

export function parsePidFile(text: string): { pid: number; startTime: number | undefined } | undefined {
  const lines = text.split('\n');
  const first = lines[0]?.trim() ?? '';
  if (!/^\d{1,10}$/.test(first)) return undefined;
  const pid = Number(first);
  if (pid < 1 || pid > MAX_PID) return undefined;
  const second = lines[1]?.trim() ?? '';
  // Pid 1 only as written by `run --pid-file` running as PID 1 (a container), start time and all.
  if (second === '') return pid === 1 ? undefined : { pid, startTime: undefined };
  if (!/^\d{1,20}$/.test(second)) return undefined;
  return { pid, startTime: Number(second) };
}

/** What the pid file says, checked against /proc. Throws DaemonError when it must not be used. */
export function inspectPidFile(path: string, place: PidPlace = ANY_PLACE): PidFileState {
  checkPidDir(path, place);
  const content = readGuarded(path, place);
  if (content === undefined) return { kind: 'missing' };
  const parsed = parsePidFile(content.text);
  if (parsed === undefined) return { kind: 'broken' };
  const { pid, startTime } = parsed;
  const stat = readStat(pid);
  if (stat === null || isGone(stat)) return { kind: 'stale', pid };
  const sameProcess =
    startTime !== undefined
      ? stat.startTime === startTime
      : startedAtMs(stat) <= content.mtimeMs + FOREIGN_MTIME_TOLERANCE_MS;
  if (!sameProcess) return pid === 1 ? { kind: 'broken' } : { kind: 'stale', pid };
  // The container case: PID 1 is everyone's ancestor there, and it is the service.
  if (pid !== 1 && selfAndAncestors().has(pid)) {
    throw new DaemonError(
      'pidfile-unusable',
      `Pid file ${path} names this process or one of its ancestors (PID ${pid}); refusing to use it`,
      { exitCode: EXIT.unknownStatus },
    );
  }
  return { kind: 'running', pid, stat };
}

/**
 * With the lock held: the pid of the live daemon the pid file names, or undefined after a stale
 * or broken pid file (warned about) was removed.
 */
export function runningOrCleared(path: string, place: PidPlace): { pid: number; stat: ProcStat } | undefined {
  const state = inspectPidFile(path, place);
  if (state.kind === 'running') return state;
  if (state.kind === 'broken') warn(`Broken pid file ${path}`);
  if (state.kind !== 'missing') removeStalePidFile(path);
  return undefined;
}

/** Removes the pid file if it still names pid (another start may have replaced it). */
export function removePidFileIfOwn(path: string, pid: number): void {
  try {
    const content = readGuarded(path, ANY_PLACE);
    if (content !== undefined && parsePidFile(content.text)?.pid === pid) unlinkSync(path);
  } catch {
    // Nothing to remove, or nothing we may remove.
  }
}

/** Removes a stale or broken pid file; never follows a symlink (unlink removes the link itself). */
export function removeStalePidFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Atomically writes pid + start time (temp file in the same directory, then rename). */
export function writePidFile(path: string, pid: number, startTime: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: ${reason(err)}`, { cause: err });
  }
  try {
    writeSync(fd, `${pid}\n${startTime}\n`);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // It was never there.
    }
    throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: ${reason(err)}`, { cause: err });
  }
}

export interface PidLock {
  fd: number;
  release(): void;
}

/**
 * One daemon per pid file: an exclusive flock on PATH.lock, held from the check until the pid
 * file is written. The file stays on disk. Resolves to undefined when locking is impossible
 * (read-only directory, no native calls) and `required` is false.
 */
export async function lockPidFile(path: string, place: PidPlace, required: boolean): Promise<PidLock | undefined> {
  checkPidDir(path, place);
  const lockPath = `${path}.lock`;
  let fd: number;
  try {
    if (lstatSync(lockPath, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is a symbolic link`);
    }
    fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    if (err instanceof DaemonError) throw err;
    if (!required) return undefined;
    throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: ${reason(err)}`, { cause: err });
  }
  const locked = await lockExclusive(fd);
  if (!locked && required) {
    warn('flock is unavailable here; concurrent starts of one pid file are not serialised');
  }
  return {
    fd,
    release() {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
    },
  };
}

/** The lock for a start: the directory made when missing, then the lock taken (the directory checked). */
export async function lockForStart(path: string, place: PidPlace): Promise<PidLock | undefined> {
  ensurePidDir(path, place);
  return lockPidFile(path, place, true);
}

/** Takes the pid file for this very process (foreground modes), unless a live daemon holds it. */
export async function claimPidFile(path: string, place: PidPlace): Promise<{ claimed: true } | { claimed: false; pid: number }> {
  const lock = await lockForStart(path, place);
  try {
    const running = runningOrCleared(path, place);
    if (running) return { claimed: false, pid: running.pid };
    const self = readStat(process.pid);
    if (self === null) throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: /proc/${process.pid}/stat is unreadable`);
    writePidFile(path, process.pid, self.startTime);
    return { claimed: true };
  } finally {
    lock?.release();
  }
}
