// The pid file is the truth, checked. Format: line 1 the bare pid, line 2 the daemon's start
// time in clock ticks since boot (from /proc), so identity survives wall-clock changes.
//
// Every read, lock, write and removal goes through the pid file's directory as an open fd, walked
// from / (src/pidfile/directory.ts, src/base/safe-path.ts): nobody can swap a directory or plant a symlink
// between the check and the use.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readFileSync, readSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonError, EXIT, reason } from '../base/errors.js';
import { warn } from '../base/log.js';
import { tryLockExclusive } from '../base/native.js';
import { ANY_PLACE, expectedOwner, openPidDir, trustedOwners, type PidPlace } from './directory.js';
import { readProcText, readStat, isGone, selfAndAncestors, startedAtMs, type ProcStat } from '../process/proc.js';
import { callerUid, type WalkedDir } from '../base/safe-path.js';

export type PidFileState =
  | { kind: 'missing' }
  | { kind: 'running'; pid: number; stat: ProcStat }
  /** startTime: as recorded (when this tool wrote the file): the service's members may outlive it. */
  | { kind: 'stale'; pid: number; startTime?: number }
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
function readGuarded(path: string, dir: WalkedDir, place: PidPlace): { text: string; mtimeMs: number; uid: number } | undefined {
  let fd: number;
  try {
    fd = openSync(dir.at(basename(path)), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
    return { text: buf.subarray(0, n).toString('latin1'), mtimeMs: st.mtimeMs, uid: st.uid };
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
  const dir = openPidDir(path, place, false);
  if (dir === undefined) return { kind: 'missing' };
  try {
    return inspectIn(path, dir, place);
  } finally {
    dir.close();
  }
}

function inspectIn(path: string, dir: WalkedDir, place: PidPlace): PidFileState {
  const content = readGuarded(path, dir, place);
  if (content === undefined) return { kind: 'missing' };
  const parsed = parsePidFile(content.text);
  if (parsed === undefined) return { kind: 'broken' };
  const { pid, startTime } = parsed;
  const stat = readStat(pid);
  if (stat === null || isGone(stat)) return { kind: 'stale', pid, startTime };
  const sameProcess =
    startTime !== undefined
      ? stat.startTime === startTime
      : startedAtMs(stat) <= content.mtimeMs + FOREIGN_MTIME_TOLERANCE_MS;
  if (!sameProcess) return pid === 1 ? { kind: 'broken' } : { kind: 'stale', pid, startTime };
  // The container case: PID 1 is everyone's ancestor there, and it is the service, but only when
  // it is this tool's own `run` (or the same library script); a host's init never is.
  if (pid === 1) {
    if (!isOwnPid1()) return { kind: 'broken' };
    // Root's own PID 1 is named only by a pid file the --user cannot write.
    checkWriterOwnsProcess(path, dir, place, content.uid, pid);
    return { kind: 'running', pid, stat };
  }
  if (selfAndAncestors().has(pid)) {
    throw new DaemonError(
      'pidfile-unusable',
      `Pid file ${path} names this process or one of its ancestors (PID ${pid}); refusing to use it`,
      { exitCode: EXIT.unknownStatus },
    );
  }
  checkWriterOwnsProcess(path, dir, place, content.uid, pid);
  return { kind: 'running', pid, stat };
}

/** The real uid of pid (the first field of Uid: in /proc/PID/status), or undefined when gone. */
function realUid(pid: number): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(readProcText(`/proc/${pid}/status`));
  return m ? Number(m[1]) : undefined;
}

/**
 * A pid file the daemon's --user could have written (it owns the file, or a directory on its path)
 * names only that user's processes: otherwise the user could point root's stop at any process.
 */
function checkWriterOwnsProcess(path: string, dir: WalkedDir, place: PidPlace, fileUid: number, pid: number): void {
  const user = place.uid;
  if (user === undefined || user === 0 || user === callerUid()) return;
  if (!dir.userControlled && fileUid !== user) return;
  const uid = realUid(pid);
  if (uid === user) return;
  throw new DaemonError(
    'pidfile-unusable',
    `Cannot use pid file ${path}: uid ${user} (the daemon's user) can write it, and it names PID ${pid}, which runs as uid ${uid ?? '?'}; refusing to trust it`,
    { exitCode: EXIT.unknownStatus },
  );
}


/** realpath, or undefined. */
function real(path: string | undefined): string | undefined {
  try {
    return path === undefined ? undefined : realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Whether PID 1 is this tool's own `run` (or the library script that asks): the same runtime
 * executable as this process, running the same script (this package's CLI, or process.argv[1]).
 * A command line that merely names them does not count: the executable is read from /proc/1/exe.
 */
function isOwnPid1(): boolean {
  const exe = real('/proc/1/exe');
  if (exe === undefined || exe !== real(process.execPath)) return false;
  const argv = readProcText('/proc/1/cmdline').split('\0');
  const cwd = real('/proc/1/cwd');
  const script = argv.slice(1).find((a) => !a.startsWith('-'));
  if (script === undefined || cwd === undefined) return false;
  const theirs = real(script.startsWith('/') ? script : `${cwd}/${script}`);
  return theirs !== undefined && (theirs === real(process.argv[1]) || theirs === ownCli());
}

/** This package's CLI (bin in package.json), found above this module whether bundled or not. */
function ownCli(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 4; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name?: string; bin?: Record<string, string> };
      if (pkg.name === 'daemonocle' && pkg.bin?.daemonocle) return real(`${dir}/${pkg.bin.daemonocle}`);
    } catch {
      // Not the package's root: one level up.
    }
  }
  return undefined;
}

/**
 * With the lock held: the pid of the live daemon the pid file names, or undefined after a stale
 * or broken pid file (warned about) was removed.
 */
export function runningOrCleared(path: string, place: PidPlace, held?: WalkedDir): { pid: number; stat: ProcStat } | undefined {
  // The lock already holds the walked directory open: no second walk, nothing swapped in between.
  const dir = held ?? openPidDir(path, place, false);
  if (dir === undefined) return undefined;
  try {
    const state = inspectIn(path, dir, place);
    if (state.kind === 'running') return state;
    if (state.kind === 'broken') warn(`Broken pid file ${path}`);
    if (state.kind !== 'missing') removeIn(dir, path);
    return undefined;
  } finally {
    if (held === undefined) dir.close();
  }
}

/** Removes the pid file if it still names pid (another start may have replaced it). */
export function removePidFileIfOwn(path: string, pid: number, place: PidPlace = ANY_PLACE): void {
  let dir: WalkedDir | undefined;
  try {
    dir = openPidDir(path, place, false);
    if (dir !== undefined) removeIfOwnIn(dir, path, pid, place);
  } catch {
    // Nothing to remove, or nothing we may remove.
  } finally {
    dir?.close();
  }
}

/** removePidFileIfOwn through a directory already open. */
export function removeIfOwnIn(dir: WalkedDir, path: string, pid: number, place: PidPlace = ANY_PLACE): void {
  try {
    const content = readGuarded(path, dir, place);
    if (content !== undefined && parsePidFile(content.text)?.pid === pid) removeIn(dir, path);
  } catch {
    // Nothing we may remove.
  }
}

/** unlink never follows a symlink: it removes the link itself. */
function removeIn(dir: WalkedDir, path: string): void {
  try {
    unlinkSync(dir.at(basename(path)));
  } catch {
    // Already gone.
  }
}

/** A name nobody can predict in advance: creation is exclusive anyway, this only spares retries. */
const randomSuffix = (): string => Math.floor(Math.random() * 2 ** 48).toString(36);

/** An exclusively created temporary file in dir, 0644 whatever the umask: its name and fd. */
export function createTempIn(dir: WalkedDir, path: string): { name: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const name = `.${basename(path)}.${randomSuffix()}.tmp`;
    try {
      const fd = openSync(dir.at(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      fchmodSync(fd, 0o644);
      return { name, fd };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
      throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: ${reason(err)}`, { cause: err });
    }
  }
}

/** Atomically writes pid + start time (an exclusive temp file in the same directory, then rename). */
export function writePidFile(path: string, pid: number, startTime: number, place: PidPlace = ANY_PLACE): void {
  const dir = openPidDir(path, place, false);
  if (dir === undefined) throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: no such file or directory`);
  try {
    writePidFileIn(dir, path, pid, startTime);
  } finally {
    dir.close();
  }
}

function writePidFileIn(dir: WalkedDir, path: string, pid: number, startTime: number): void {
  const tmp = createTempIn(dir, path);
  try {
    writeSync(tmp.fd, `${pid}\n${startTime}\n`);
    closeSync(tmp.fd);
    renameSync(dir.at(tmp.name), dir.at(basename(path)));
  } catch (err) {
    try {
      closeSync(tmp.fd);
    } catch {
      // Closed already.
    }
    removeIn(dir, tmp.name);
    throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: ${reason(err)}`, { cause: err });
  }
}

export interface PidLock {
  fd: number;
  /** The pid file's directory, open: the start writes the pid file through it. */
  dir: WalkedDir;
  /** Whether the flock is really held (not where flock is unavailable). */
  held: boolean;
  /**
   * With the flock held and no pid file left: removes the lock file (stop), so nothing piles up.
   * Safe because every locker, once its flock succeeds, checks that the name still refers to the
   * inode it locked, and starts over when it does not (lockPidFile).
   */
  removeIfNoPidFile(): void;
  release(): void;
}

/** How long a lock wait goes on before it says who holds the lock. */
const LOCK_NOTICE_MS = 3000;

/** The pid holding a flock on the file open at fd, from /proc/locks (by device and inode). */
function lockHolder(fd: number): string {
  const st = fstatSync(fd);
  const major = Math.floor(st.dev / 0x100) & 0xfff;
  const minor = (st.dev & 0xff) | (Math.floor(st.dev / 0x1000) & 0xfff00);
  const dev = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  for (const line of readProcText('/proc/locks').split('\n')) {
    const f = line.trim().split(/\s+/);
    const at = f[1] === '->' ? 1 : 0;
    if (f[at + 1] === 'FLOCK' && f[at + 5] === dev) {
      const pid = Number(f[at + 4]);
      const comm = readProcText(`/proc/${pid}/comm`).trim();
      return comm === '' ? `PID ${pid}` : `PID ${pid} (${comm})`;
    }
  }
  return 'another process';
}

/** Takes the flock, polling so that a lock nobody releases ends in an ERROR after timeoutMs. */
async function takeLock(fd: number, lockPath: string, timeoutMs: number, timeoutSeconds: number): Promise<boolean> {
  const began = Date.now();
  let delay = 2;
  let told = false;
  for (;;) {
    const got = tryLockExclusive(fd);
    if (got !== 'busy') return got === 'locked';
    const waited = Date.now() - began;
    if (waited >= timeoutMs) {
      throw new DaemonError('pidfile-unusable', `Timed out after ${timeoutSeconds} s waiting for the lock on ${lockPath}, held by ${lockHolder(fd)}`);
    }
    if (!told && waited >= LOCK_NOTICE_MS) {
      told = true;
      warn(`Waiting for the lock on ${lockPath}, held by ${lockHolder(fd)}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, timeoutMs - waited)));
    delay = Math.min(delay * 2, 100);
  }
}

/** Whether dir/name exists (without following a symlink). */
function existsIn(dir: WalkedDir, name: string): boolean {
  try {
    lstatSync(dir.at(name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Whether the name still refers to the file open at fd (not removed, not replaced). */
function stillNamed(dir: WalkedDir, name: string, fd: number): boolean {
  const held = fstatSync(fd);
  try {
    const named = lstatSync(dir.at(name));
    return named.ino === held.ino && named.dev === held.dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

const LOCK_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * One daemon per pid file: an exclusive flock on PATH.lock, held from the check until the pid
 * file is written; one that another user owns is refused. `stop` removes the lock file with the
 * pid file (removeIfNoPidFile), so a locker whose flock succeeds checks that the name still
 * refers to the inode it locked, and otherwise (removed, or replaced by a newcomer's) closes it
 * and starts over: whoever waited on the removed file never runs beside the newcomer.
 * Resolves to undefined when locking is impossible (read-only directory, no native calls) and
 * `required` is false, or when the directory is missing and `create` is false; with
 * `onlyIfPidFile`, to 'no-pid-file' when there is neither a pid file nor a lock file, having
 * created nothing.
 */
export async function lockPidFile(path: string, place: PidPlace, required: boolean, timeoutSeconds: number, create?: boolean): Promise<PidLock | undefined>;
export async function lockPidFile(path: string, place: PidPlace, required: boolean, timeoutSeconds: number, create: boolean, onlyIfPidFile: true): Promise<PidLock | 'no-pid-file' | undefined>;
export async function lockPidFile(path: string, place: PidPlace, required: boolean, timeoutSeconds: number, create = false, onlyIfPidFile = false): Promise<PidLock | 'no-pid-file' | undefined> {
  const dir = openPidDir(path, place, create);
  if (dir === undefined) return onlyIfPidFile ? 'no-pid-file' : undefined;
  const lockPath = `${path}.lock`;
  const lockName = `${basename(path)}.lock`;
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    let fd: number;
    try {
      try {
        fd = openSync(dir.at(lockName), LOCK_FLAGS | (onlyIfPidFile ? 0 : constants.O_CREAT), 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !onlyIfPidFile) throw err;
        // No lock file: read-only callers create none unless there is a pid file to act on.
        if (!existsIn(dir, basename(path))) {
          dir.close();
          return 'no-pid-file';
        }
        fd = openSync(dir.at(lockName), LOCK_FLAGS | constants.O_CREAT, 0o644);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      dir.close();
      if (code === 'ELOOP' || code === 'EMLINK') throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is a symbolic link`);
      if (!required) return undefined;
      throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: ${reason(err)}`, { cause: err });
    }
    const closeFd = () => {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
    };
    let held: boolean;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is not a regular file`);
      if (!trustedOwners(place).has(st.uid)) {
        throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is owned by uid ${st.uid}, ${expectedOwner(place)}; refusing to trust it`);
      }
      held = await takeLock(fd, lockPath, Math.max(0, deadline - Date.now()), timeoutSeconds);
      if (!held && required) warn('flock is unavailable here; concurrent starts of one pid file are not serialised');
      if (held && !stillNamed(dir, lockName, fd)) {
        // Removed (or removed and created anew) while we waited: this lock guards nothing.
        closeFd();
        continue;
      }
    } catch (err) {
      closeFd();
      dir.close();
      throw err;
    }
    const release = () => {
      closeFd();
      try {
        dir.close();
      } catch {
        // Already closed.
      }
    };
    const removeIfNoPidFile = () => {
      try {
        if (held && !existsIn(dir, basename(path)) && stillNamed(dir, lockName, fd)) unlinkSync(dir.at(lockName));
      } catch {
        // Left in place: harmless, the next locker uses it.
      }
    };
    return { fd, dir, held, removeIfNoPidFile, release };
  }
}

/** The lock for a start: the directory made when missing, then the lock taken. */
export async function lockForStart(path: string, place: PidPlace, timeoutSeconds: number): Promise<PidLock> {
  // With the directory made and the lock required, a lock always comes back (or an error).
  return (await lockPidFile(path, place, true, timeoutSeconds, true))!;
}

/** Takes the pid file for this very process (foreground modes), unless a live daemon holds it. */
export async function claimPidFile(path: string, place: PidPlace, timeoutSeconds: number): Promise<{ claimed: true } | { claimed: false; pid: number }> {
  const lock = await lockForStart(path, place, timeoutSeconds);
  try {
    const running = runningOrCleared(path, place, lock.dir);
    if (running) return { claimed: false, pid: running.pid };
    const self = readStat(process.pid);
    if (self === null) throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${path}: /proc/${process.pid}/stat is unreadable`);
    writePidFileIn(lock.dir, path, process.pid, self.startTime);
    return { claimed: true };
  } finally {
    lock.release();
  }
}
