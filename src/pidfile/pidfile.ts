// The pid file is the truth, checked. One `PidFile` handle, made once from the options (its path,
// its place: default or not, the daemon's own user), locks, inspects, claims, writes and removes
// it; the format is pidfile/format.ts's.
//
// Every read, lock, write and removal goes through the pid file's directory as an open fd, walked
// from / (src/pidfile/directory.ts, src/base/safe-path.ts): nobody can swap a directory or plant a symlink
// between the check and the use. A lock holds that directory open, and whatever is done under the
// lock goes through it: one walk per action, not one per step.
import { accessSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readFileSync, readSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonError, EXIT, reason } from '../base/errors.js';
import { warn } from '../base/log.js';
import { tryLockExclusive } from '../base/native.js';
import { expectedOwner, openPidDir, trustedOwners, type PidPlace } from './directory.js';
import { formatPidFile, parsePidFile } from './format.js';
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
const READ_LIMIT = 256;
/** How long a lock wait goes on before it says who holds the lock. */
const LOCK_NOTICE_MS = 3000;
const LOCK_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What a pid file handle is made from: the resolved options of an action or a Daemon. */
interface PidFileOptions {
  pidFile: string;
  defaultPidFile: boolean;
  credentials: { uid: number | undefined; gid: number | undefined };
}

/** The pid file of one daemon: where it is, and whom its directory and contents may belong to. */
export class PidFile {
  readonly name: string;

  constructor(
    readonly path: string,
    readonly place: PidPlace = { isDefault: false },
  ) {
    this.name = basename(path);
  }

  static of(opts: PidFileOptions): PidFile {
    return new PidFile(opts.pidFile, { isDefault: opts.defaultPidFile, uid: opts.credentials.uid, gid: opts.credentials.gid });
  }

  /** What the pid file says, checked against /proc. Throws DaemonError when it must not be used. */
  inspect(): PidFileState {
    return this.through(undefined, () => ({ kind: 'missing' }), (dir) => this.inspectIn(dir));
  }

  /**
   * The pid of the live daemon the pid file names, or undefined after a stale or broken pid file
   * (warned about) was removed. Under a lock, through the directory the lock holds open.
   */
  runningOrCleared(lock?: PidLock): { pid: number; stat: ProcStat } | undefined {
    return this.through(lock?.dir, () => undefined, (dir) => {
      const state = this.inspectIn(dir);
      if (state.kind === 'running') return state;
      if (state.kind === 'broken') warn(`Broken pid file ${this.path}`);
      if (state.kind !== 'missing') removeIn(dir, this.name);
      return undefined;
    });
  }

  /** Removes the pid file if it still names pid (another start may have replaced it). */
  removeIfOwn(pid: number, lock?: PidLock): void {
    try {
      this.through(lock?.dir, () => undefined, (dir) => {
        const content = this.readGuarded(dir);
        if (content !== undefined && parsePidFile(content.text)?.pid === pid) removeIn(dir, this.name);
      });
    } catch {
      // Nothing to remove, or nothing we may remove.
    }
  }

  /** Atomically writes pid + start time (an exclusive temp file in the same directory, then rename). */
  write(pid: number, startTime: number, lock?: PidLock): void {
    const missing = () => {
      throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${this.path}: no such file or directory`);
    };
    this.through(lock?.dir, missing, (dir) => this.writeIn(dir, pid, startTime));
  }

  /** Whether this process may replace the pid file: a new one in its directory, renamed into place. */
  mayRewrite(): boolean {
    try {
      return this.through(undefined, () => false, (dir) => {
        accessSync(dir.at('.'), constants.W_OK | constants.X_OK);
        return true;
      });
    } catch {
      return false;
    }
  }

  /** The lock for a start: the directory made when missing, then the lock taken (or an error). */
  async lockForStart(timeoutSeconds: number): Promise<PidLock> {
    // The directory made and the lock required: a lock always comes back, or an error is thrown.
    return (await this.lock(timeoutSeconds, 'start')) as PidLock;
  }

  /**
   * The lock for a stop: 'no-pid-file' when there is neither a pid file nor a lock file (having
   * created nothing), undefined when locking is impossible here (read-only directory, no native
   * calls).
   */
  lockIfPidFile(timeoutSeconds: number): Promise<PidLock | 'no-pid-file' | undefined> {
    return this.lock(timeoutSeconds, 'if-pid-file');
  }

  /** Takes the pid file for this very process (foreground modes), unless a live daemon holds it. */
  async claim(timeoutSeconds: number): Promise<{ claimed: true } | { claimed: false; pid: number }> {
    const lock = await this.lockForStart(timeoutSeconds);
    try {
      const running = this.runningOrCleared(lock);
      if (running) return { claimed: false, pid: running.pid };
      const self = readStat(process.pid);
      if (self === null) throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${this.path}: /proc/${process.pid}/stat is unreadable`);
      this.write(process.pid, self.startTime, lock);
      return { claimed: true };
    } finally {
      lock.release();
    }
  }

  /**
   * fn on the directory: the one held open (a lock's), or walked from / for this call and closed
   * after it; missing() when there is no directory.
   */
  private through<T>(held: WalkedDir | undefined, missing: () => T, fn: (dir: WalkedDir) => T): T {
    const dir = held ?? openPidDir(this.path, this.place, false);
    if (dir === undefined) return missing();
    try {
      return fn(dir);
    } finally {
      if (held === undefined) dir.close();
    }
  }

  private unusable(why: string, cause?: unknown): DaemonError {
    return new DaemonError('pidfile-unusable', `Cannot use pid file ${this.path}: ${why}`, { exitCode: EXIT.unknownStatus, cause });
  }

  /**
   * Reads at most READ_LIMIT bytes without following a symlink; undefined when there is no file.
   * A file owned by a user other than root, the caller or the daemon's own user is refused.
   */
  private readGuarded(dir: WalkedDir): { text: string; mtimeMs: number; uid: number } | undefined {
    let fd: number;
    try {
      fd = openSync(dir.at(this.name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP' || code === 'EMLINK') throw this.unusable('it is a symbolic link', err);
      throw this.unusable(reason(err), err);
    }
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw this.unusable('it is a directory');
      if (!st.isFile()) throw this.unusable('it is not a regular file');
      if (!trustedOwners(this.place).has(st.uid)) {
        throw this.unusable(`it is owned by uid ${st.uid}, ${expectedOwner(this.place)}; refusing to trust it`);
      }
      const buf = Buffer.alloc(READ_LIMIT);
      let n: number;
      try {
        n = readSync(fd, buf, 0, READ_LIMIT, 0);
      } catch (err) {
        throw this.unusable(reason(err), err);
      }
      return { text: buf.subarray(0, n).toString('latin1'), mtimeMs: st.mtimeMs, uid: st.uid };
    } finally {
      closeSync(fd);
    }
  }

  private inspectIn(dir: WalkedDir): PidFileState {
    const content = this.readGuarded(dir);
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
      this.checkWriterOwnsProcess(dir, content.uid, pid);
      return { kind: 'running', pid, stat };
    }
    if (selfAndAncestors().has(pid)) {
      throw new DaemonError(
        'pidfile-unusable',
        `Pid file ${this.path} names this process or one of its ancestors (PID ${pid}); refusing to use it`,
        { exitCode: EXIT.unknownStatus },
      );
    }
    this.checkWriterOwnsProcess(dir, content.uid, pid);
    return { kind: 'running', pid, stat };
  }

  /**
   * A pid file the daemon's --user could have written (it owns the file, or a directory on its path)
   * names only that user's processes: otherwise the user could point root's stop at any process.
   */
  private checkWriterOwnsProcess(dir: WalkedDir, fileUid: number, pid: number): void {
    const user = this.place.uid;
    if (user === undefined || user === 0 || user === callerUid()) return;
    if (!dir.userControlled && fileUid !== user) return;
    const uid = realUid(pid);
    if (uid === user) return;
    throw this.unusable(`uid ${user} (the daemon's user) can write it, and it names PID ${pid}, which runs as uid ${uid ?? '?'}; refusing to trust it`);
  }

  /** An exclusively created temporary file in dir, 0644 whatever the umask: its name and fd. */
  createTempIn(dir: WalkedDir): { name: string; fd: number } {
    for (let attempt = 0; ; attempt++) {
      const name = `.${this.name}.${randomSuffix()}.tmp`;
      try {
        const fd = openSync(dir.at(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
        fchmodSync(fd, 0o644);
        return { name, fd };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
        throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${this.path}: ${reason(err)}`, { cause: err });
      }
    }
  }

  private writeIn(dir: WalkedDir, pid: number, startTime: number): void {
    const tmp = this.createTempIn(dir);
    try {
      writeSync(tmp.fd, formatPidFile(pid, startTime));
      closeSync(tmp.fd);
      renameSync(dir.at(tmp.name), dir.at(this.name));
    } catch (err) {
      try {
        closeSync(tmp.fd);
      } catch {
        // Closed already.
      }
      removeIn(dir, tmp.name);
      throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${this.path}: ${reason(err)}`, { cause: err });
    }
  }

  /**
   * One daemon per pid file: an exclusive flock on PATH.lock, held from the check until the pid
   * file is written; one that another user owns is refused. `stop` removes the lock file with the
   * pid file (removeIfNoPidFile), so a locker whose flock succeeds checks that the name still
   * refers to the inode it locked, and otherwise (removed, or replaced by a newcomer's) closes it
   * and starts over: whoever waited on the removed file never runs beside the newcomer.
   * 'start': the directory made when missing, the lock required. 'if-pid-file': undefined when
   * locking is impossible (read-only directory, no native calls), 'no-pid-file' when there is
   * neither a pid file nor a lock file (or no directory), having created nothing.
   */
  private async lock(timeoutSeconds: number, mode: 'start' | 'if-pid-file'): Promise<PidLock | 'no-pid-file' | undefined> {
    const forStart = mode === 'start';
    const dir = openPidDir(this.path, this.place, forStart);
    if (dir === undefined) return 'no-pid-file';
    const lockPath = `${this.path}.lock`;
    const lockName = `${this.name}.lock`;
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      let fd: number;
      try {
        try {
          fd = openSync(dir.at(lockName), LOCK_FLAGS | (forStart ? constants.O_CREAT : 0), 0o644);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || forStart) throw err;
          // No lock file: read-only callers create none unless there is a pid file to act on.
          if (!existsIn(dir, this.name)) {
            dir.close();
            return 'no-pid-file';
          }
          fd = openSync(dir.at(lockName), LOCK_FLAGS | constants.O_CREAT, 0o644);
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        dir.close();
        if (code === 'ELOOP' || code === 'EMLINK') throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is a symbolic link`);
        if (!forStart) return undefined;
        throw new DaemonError('pidfile-unwritable', `Cannot write pid file ${this.path}: ${reason(err)}`, { cause: err });
      }
      let held: boolean;
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is not a regular file`);
        if (!trustedOwners(this.place).has(st.uid)) {
          throw new DaemonError('pidfile-unusable', `Cannot use lock file ${lockPath}: it is owned by uid ${st.uid}, ${expectedOwner(this.place)}; refusing to trust it`);
        }
        held = await takeLock(fd, lockPath, Math.max(0, deadline - Date.now()), timeoutSeconds);
        if (!held && forStart) warn('flock is unavailable here; concurrent starts of one pid file are not serialised');
        if (held && !stillNamed(dir, lockName, fd)) {
          // Removed (or removed and created anew) while we waited: this lock guards nothing.
          closeQuietly(fd);
          continue;
        }
      } catch (err) {
        closeQuietly(fd);
        dir.close();
        throw err;
      }
      return new PidLock(this, fd, dir, held);
    }
  }
}

/** A held lock on a pid file: the lock file open and flock'ed, the pid file's directory open. */
export class PidLock {
  constructor(
    readonly pidFile: PidFile,
    readonly fd: number,
    /** The pid file's directory, open: whatever is done under the lock goes through it. */
    readonly dir: WalkedDir,
    /** Whether the flock is really held (not where flock is unavailable). */
    readonly held: boolean,
  ) {}

  /** An exclusive temporary file beside the pid file (a detached start hands it to the session leader). */
  createTemp(): { name: string; fd: number } {
    return this.pidFile.createTempIn(this.dir);
  }

  /**
   * With the flock held and no pid file left: removes the lock file (stop), so nothing piles up.
   * Safe because every locker, once its flock succeeds, checks that the name still refers to the
   * inode it locked, and starts over when it does not (PidFile.lock).
   */
  removeIfNoPidFile(): void {
    const lockName = `${this.pidFile.name}.lock`;
    try {
      if (this.held && !existsIn(this.dir, this.pidFile.name) && stillNamed(this.dir, lockName, this.fd)) unlinkSync(this.dir.at(lockName));
    } catch {
      // Left in place: harmless, the next locker uses it.
    }
  }

  release(): void {
    closeQuietly(this.fd);
    this.dir.close();
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

/** The real uid of pid (the first field of Uid: in /proc/PID/status), or undefined when gone. */
function realUid(pid: number): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(readProcText(`/proc/${pid}/status`));
  return m ? Number(m[1]) : undefined;
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

/** unlink never follows a symlink: it removes the link itself. */
function removeIn(dir: WalkedDir, name: string): void {
  try {
    unlinkSync(dir.at(name));
  } catch {
    // Already gone.
  }
}

/** A name nobody can predict in advance: creation is exclusive anyway, this only spares retries. */
const randomSuffix = (): string => Math.floor(Math.random() * 2 ** 48).toString(36);

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
