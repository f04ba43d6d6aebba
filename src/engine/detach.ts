// The detach engine: one Node boot (the caller), no Node launcher.
//
//   caller (subreaper) --spawn, setsid--> sh/session-leader.sh --fork--> subshell --exec--> command
//
// The session leader forks and exits at once, so the daemon is in the new session but does not
// lead it (Stevens' double fork), and is re-parented to the caller, which is a child subreaper and
// can therefore waitpid() it for the exit status of an early death. The subshell writes the pid
// file atomically *before* exec'ing the command, so a caller killed at any moment (even SIGKILL)
// leaves a tracked daemon or none. When the caller exits the daemon moves on to init.
import { closeSync, existsSync, fstatSync, readSync, unlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DaemonError, optionError, reason } from '../base/errors.js';
import { escapeForTerminal } from '../base/log.js';
import { isCloseOnExec, openFds, setChildSubreaper, setCloseOnExec } from '../base/native.js';
import type { PidLock } from '../pidfile/pidfile.js';
import { NotifyServer } from '../systemd/notify.js';
import type { StartProgress } from '../base/progress.js';
import { NEVER, type LaunchSpec, type Probe } from '../base/types.js';
import { resolveCommand } from './command.js';
import { execChain } from './exec-chain.js';
import { probeLabel, waitForProbes } from './probes.js';
import { spawnProcess, type Spawned } from './spawn.js';
import { readPid, watchStartupWindow, type WindowResult } from './startup-window.js';
import { newlineOn } from './ready-fd.js';

type StartOutcome =
  | { ok: true; pid: number }
  /** died: the command exited or was killed inside the startup window. */
  | { ok: false; pid: number | undefined; message: string; startupStderr: string; died?: boolean };

const STARTUP_STDERR_LIMIT = 64 * 1024;

/** The session leader's script (sh/session-leader.sh, shipped in the package). */
const SESSION_LEADER_SCRIPT = fileURLToPath(new URL('../../sh/session-leader.sh', import.meta.url));

/** bash in POSIX mode (no BASH_ENV) when present, for closing fds above 9; else the system sh. */
function sessionShell(): string[] {
  const bash = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p));
  return bash ? [bash, '--posix'] : ['/bin/sh'];
}

/** What the subshell execs: privileges dropped, then every signal disposition reset (sh's `&` ignores INT and QUIT). */
function finalArgv(spec: LaunchSpec, command: string[]): string[] {
  return execChain(command, { credentials: spec.credentials, signals: 'default' });
}

/**
 * What the daemon wrote to its --stderr file during startup (the tail, when it wrote a lot), read
 * from the file it writes to (never its path again: the daemon's user may have replaced it). The
 * output of a daemon of another user is shown with its control characters escaped.
 */
function startupStderr(reader: number | undefined, offset: number, credentials: LaunchSpec['credentials']): string {
  if (reader === undefined) return '';
  try {
    const size = fstatSync(reader).size;
    const from = Math.max(offset, size - STARTUP_STDERR_LIMIT);
    const buf = Buffer.alloc(Math.max(0, size - from));
    const n = readSync(reader, buf, 0, buf.length, from);
    const text = buf.subarray(0, n).toString('utf8');
    const foreign = credentials.uid !== undefined && credentials.uid !== (process.getuid?.() ?? 0);
    return foreign ? text.split('\n').map(escapeForTerminal).join('\n') : text;
  } catch {
    return '';
  }
}

/** fds inherited without close-on-exec would leak into every child: mark all but the kept ones. */
function sealInheritedFds(keep: number[]): void {
  for (const fd of openFds() ?? []) {
    if (fd > 2 && !keep.includes(fd) && isCloseOnExec(fd) === false) setCloseOnExec(fd);
  }
}

type Notify = { server: NotifyServer; ready: Promise<void> } | undefined;

/**
 * Launches spec.argv as a daemon and waits for its startup check. The pid file is written by the
 * session leader's subshell; on a failed start it is removed again.
 */
export async function launchDetached(spec: LaunchSpec, lock: PidLock, progress?: StartProgress): Promise<StartOutcome> {
  const command = resolveCommand(spec.argv, spec.env);
  const readyFd = spec.readiness.kind === 'wait' ? spec.readiness.readyFd : undefined;
  checkDetachFds(spec.keepFds, readyFd);
  const tmp = lock.createTemp();
  const fds = helperFds([...spec.keepFds, ...(readyFd === undefined ? [] : [readyFd])], lock, tmp);
  const notify = openNotify(spec, progress);
  try {
    const subreaping = setChildSubreaper();
    sealInheritedFds(spec.keepFds);
    const leader = spawnSessionLeader(spec, lock, command, fds, readyFd, notify);
    try {
      return await awaitStartup(spec, lock, leader, fds.pipe, readyFd, notify, subreaping, progress);
    } finally {
      // Ours is the only read end: the daemon's later writes there get EPIPE, as under s6.
      if (readyFd !== undefined) leader.child.stdio[readyFd]?.destroy();
      if (leader.stderrReader !== undefined) closeSync(leader.stderrReader);
    }
  } finally {
    closeSync(tmp.fd);
    // Gone once renamed; left only when the subshell never got to it.
    try {
      unlinkSync(lock.dir.at(tmp.name));
    } catch {
      // Renamed into place.
    }
    await notify?.server.close();
  }
}

interface HelperFds {
  pipe: number;
  /** Where the child holds the pid-file lock. */
  lock: { at: number; fd: number };
  /** The pid file's directory and the temporary file, open: the subshell reaches both through /proc/self/fd. */
  dir: { at: number; fd: number };
  tmp: { at: number; fd: number; name: string };
}

/** The fds in 3..9 (the shell's redirection range) that --keep-fds and --ready-fd leave free. */
function freeHelperFds(keepFds: readonly number[], readyFd: number | undefined): number[] {
  return [9, 8, 7, 6, 5, 4, 3].filter((fd) => !keepFds.includes(fd) && fd !== readyFd);
}

/**
 * The session leader needs two of the fds 3-9 for itself (four where bash is missing: a shell
 * without bash cannot close an fd above 9): a usage error, checked before anything is printed,
 * locked or created (start and restart call it first).
 */
export function checkDetachFds(keepFds: readonly number[], readyFd: number | undefined): void {
  const needed = sessionShell()[0] === '/bin/sh' ? 4 : 2;
  if (freeHelperFds(keepFds, readyFd).length < needed) {
    const most = 7 - needed === 5 ? 'five' : 'three';
    const where = needed === 4 ? ' where bash is not installed' : '';
    throw optionError('usage', (o) => `${o('keepFds')}${readyFd === undefined ? '' : ` and ${o('readyFd')}`} may use at most ${most} of the fds 3-9${where}`);
  }
}

/**
 * The pipe and the lock in 3..9, not taken by --keep-fds (or --ready-fd); the directory and the
 * temporary file there too when free, else above 9 (bash closes those).
 */
function helperFds(taken: number[], lock: PidLock, tmp: { fd: number; name: string }): HelperFds {
  const high = Array.from({ length: 2 }, (_, i) => Math.max(9, ...taken) + 1 + i);
  const [pipe, lockAt, dirAt, tmpAt] = [...freeHelperFds(taken, undefined), ...high];
  return { pipe: pipe!, lock: { at: lockAt!, fd: lock.fd }, dir: { at: dirAt!, fd: lock.dir.fd }, tmp: { at: tmpAt!, ...tmp } };
}

/** sh/session-leader.sh in a new session: positional arguments only (see the script's header). */
function spawnSessionLeader(spec: LaunchSpec, lock: PidLock, command: string[], fds: HelperFds, readyFd: number | undefined, notify: Notify): Spawned {
  const ready = readyFd === undefined ? [] : [readyFd];
  const kept = [fds.lock.at, ...spec.keepFds, ...ready];
  const args = [String(fds.dir.at), String(fds.tmp.at), fds.tmp.name, lock.pidFile.name, String(fds.pipe), String(fds.lock.at), kept.join(' ')];
  return spawnProcess({
    argv: [...sessionShell(), SESSION_LEADER_SCRIPT, ...args, ...finalArgv(spec, command)],
    cwd: spec.cwd,
    env: notify ? { ...spec.env, NOTIFY_SOCKET: notify.server.address } : spec.env,
    detached: true,
    // Set where every spawn sets it: the session leader, and so the daemon, start with it.
    umask: spec.umask,
    stdin: 'ignore',
    stdoutFile: spec.stdoutFile,
    stderrFile: spec.stderrFile,
    outputsFor: spec.credentials,
    otherwise: 'ignore',
    fds: [
      [fds.pipe, 'pipe'],
      [fds.lock.at, fds.lock.fd],
      [fds.dir.at, fds.dir.fd],
      [fds.tmp.at, fds.tmp.fd],
      ...spec.keepFds.map((fd) => [fd, fd] as const),
      ...ready.map((fd) => [fd, 'pipe'] as const),
    ],
  });
}

/**
 * The daemon's startup to its outcome, in three steps: its pid from the session leader
 * (daemonPid), the readiness conditions it must meet (readinessOf), then the startup window
 * (watchStartupWindow), whose result is the outcome (outcomeOf).
 */
async function awaitStartup(
  spec: LaunchSpec,
  lock: PidLock,
  leader: Spawned,
  pipeFd: number,
  readyFd: number | undefined,
  notify: Notify,
  subreaping: boolean,
  progress: StartProgress | undefined,
): Promise<StartOutcome> {
  const stderrSince = () => startupStderr(leader.stderrReader, leader.stderrOffset, spec.credentials);
  const failed = (pid: number | undefined, message: string): Extract<StartOutcome, { ok: false }> => {
    if (pid !== undefined) lock.pidFile.removeIfOwn(pid, lock);
    return { ok: false, pid, message, startupStderr: stderrSince() };
  };
  // Listened for now: the leader exits right after it reports the pid.
  const exited = leaderExit(leader);
  const pid = await daemonPid(leader, pipeFd, spec.pidFile);
  if (typeof pid === 'string') return failed(undefined, `Cannot start ${spec.name}: ${pid}`);
  const r = spec.readiness;
  const windowMs = (r.kind === 'grace' ? r.seconds : r.timeoutSeconds) * 1000;
  const probing = new AbortController();
  const ready = readinessOf(spec, leader, readyFd, notify, progress, probing.signal);
  const result = await watchStartupWindow(pid, windowMs, subreaping, exited, ready).finally(() => probing.abort());
  return outcomeOf(spec, pid, result, failed, stderrSince);
}

/** Resolves when the session leader has exited (or never started). */
function leaderExit(leader: Spawned): Promise<void> {
  return new Promise<void>((resolve) => {
    leader.child.once('exit', () => resolve());
    void leader.started.then((err) => err && resolve());
  });
}

/** The daemon's pid, as the session leader's subshell reports it on the pipe; else why there is none. */
async function daemonPid(leader: Spawned, pipeFd: number, pidFile: string): Promise<number | string> {
  const pid = await readPid(leader.child.stdio[pipeFd] as NodeJS.ReadableStream | null);
  if (pid !== undefined) return pid;
  const spawnError = await leader.started;
  if (spawnError) return reason(spawnError);
  // The subshell either failed to write the pid file or died before reporting.
  return `could not write pid file ${pidFile}`;
}

/**
 * What must happen before the daemon counts as up, besides surviving: READY=1 (when the socket
 * listens for it), every probe, a newline on --ready-fd; each shown on the progress line as it
 * is met. Undefined when nothing is awaited (the grace window alone).
 */
function readinessOf(
  spec: LaunchSpec,
  leader: Spawned,
  readyFd: number | undefined,
  notify: Notify,
  progress: StartProgress | undefined,
  probing: AbortSignal,
): Promise<void> | undefined {
  const r = spec.readiness;
  const conditions: Promise<unknown>[] = [];
  if (r.kind === 'grace') progress?.condition('grace', `grace ${r.seconds} s`);
  if (notify) {
    if (r.kind === 'wait') progress?.condition('notify', 'READY=1');
    conditions.push(notify.ready.then(() => progress?.condition('notify', 'READY=1 ✓')));
  }
  if (r.kind === 'wait' && r.probes.length > 0) {
    for (const p of r.probes) progress?.condition(probeLabel(p), `${probeLabel(p)} not yet`);
    const answered = (p: Probe) => progress?.condition(probeLabel(p), `${probeLabel(p)} ✓`);
    conditions.push(waitForProbes(r.probes, spec.env, spec.credentials, probing, answered));
  }
  if (readyFd !== undefined) {
    progress?.condition('fd', `a newline on fd ${readyFd}`);
    // EOF before the newline: never ready, so the timeout rules.
    const newline = newlineOn(leader.child.stdio[readyFd] as Readable).then((ok) => ok || NEVER);
    conditions.push(newline.then(() => progress?.condition('fd', `a newline on fd ${readyFd} ✓`)));
  }
  return conditions.length > 0 ? Promise.all(conditions).then(() => undefined) : undefined;
}

/** The window's result as the start's outcome: up, timed out waiting (left running), or died. */
function outcomeOf(
  spec: LaunchSpec,
  pid: number,
  result: WindowResult,
  failed: (pid: number, message: string) => Extract<StartOutcome, { ok: false }>,
  stderrSince: () => string,
): StartOutcome {
  const r = spec.readiness;
  if (result === 'ready' || (result === 'window-over' && r.kind === 'grace')) return { ok: true, pid };
  if (result === 'window-over' && r.kind === 'wait') {
    const message =
      `${spec.name} timed out waiting for readiness after ${r.timeoutSeconds} s; ` +
      `it is left running as PID ${pid} (pid file ${spec.pidFile}); stop it with: daemonocle stop --pid-file ${spec.pidFile}`;
    return { ok: false, pid, message, startupStderr: stderrSince() };
  }
  return { ...failed(pid, `${spec.name} ${(result as { death: string }).death}`), died: true };
}

/** The notification socket a daemon may say READY=1 on, when the readiness rule listens for it. */
function openNotify(spec: LaunchSpec, progress: StartProgress | undefined): Notify {
  const r = spec.readiness;
  if (r.kind === 'grace' ? !r.readyEndsWindow : !r.notify) return undefined;
  const server = NotifyServer.open(spec.credentials.uid);
  if (typeof server === 'string') {
    if (r.kind === 'wait') throw new DaemonError('unsupported', `Cannot wait for READY=1: ${server}`);
    return undefined;
  }
  const ready = new Promise<void>((resolve) =>
    server.listen((fields) => {
      if (fields.STATUS !== undefined) progress?.status(fields.STATUS);
      if (fields.READY === '1') resolve();
    }),
  );
  return { server, ready };
}

