// Stop = signal, then wait for the real exit, with a timeout. SIGKILL only when forced.
// The wait is event-driven: pidfds become readable when their process exits (a zombie counts as
// exited), so there is no polling on Linux >= 5.3; elsewhere /proc is polled with a short backoff.
import { closeSync } from 'node:fs';
import { DaemonError } from '../base/errors.js';
import { pidfdOpen, pidfdSendSignal, waitReadable } from '../base/native.js';
import { daemonAndGroup, isGone, readProcText, readStat, type ProcStat } from './proc.js';
import { SIGKILL, SIGTERM } from '../base/signals.js';

interface StopRequest {
  pid: number;
  /** The stat read when the pid file was checked: the signal goes only to that same process. */
  stat: ProcStat;
  signalGroup: boolean;
  timeoutSeconds: number;
  force: boolean;
}

type StopResult =
  | { stopped: true; killed: boolean }
  | { stopped: false; reason: 'timeout' };

/** After SIGKILL, how long to wait for the kernel to finish the process. */
const KILL_WAIT_MS = 5000;

function samePid(pid: number, expected: ProcStat): boolean {
  const now = readStat(pid);
  return now !== null && !isGone(now) && now.startTime === expected.startTime;
}

function ownGroup(): number {
  return readStat(process.pid)?.pgrp ?? process.pid;
}

/**
 * Sends one signal to the daemon (or its group) after re-checking its identity through a pidfd.
 * False when the process is no longer the one recorded.
 */
export function signalVerified(pid: number, expected: ProcStat, signal: number, group: boolean): boolean {
  const pidfd = pidfdOpen(pid);
  try {
    if (!samePid(pid, expected)) return false;
    deliver(pid, pidfd, expected, signal, group);
    return true;
  } finally {
    if (pidfd >= 0) closeSync(pidfd);
  }
}

/** One signal to the daemon through its pidfd (or pid), or to its group, never the caller's own. */
function deliver(pid: number, pidfd: number, stat: ProcStat, signal: number, group: boolean): void {
  if (group) {
    if (stat.pgrp === ownGroup() || stat.pgrp <= 1) {
      throw new DaemonError('unsupported', `Refusing to signal process group ${stat.pgrp}: it is the caller's own`);
    }
    tryKill(-stat.pgrp, signal);
  } else if (pidfd < 0 || pidfdSendSignal(pidfd, signal) !== 0) {
    tryKill(pid, signal);
  }
}

/** Sends signal to the daemon (or its group) and waits for it (and its group) to be gone. */
export async function stopProcess(req: StopRequest): Promise<StopResult> {
  const pidfd = pidfdOpen(req.pid);
  try {
    // The pidfd pins the process: checking identity after opening it closes the reuse race.
    if (!samePid(req.pid, req.stat)) return { stopped: true, killed: false };
    const targets = () => (req.signalGroup ? daemonAndGroup(req.pid, req.stat.pgrp) : [req.pid]);
    const send = (sig: number) => deliver(req.pid, pidfd, req.stat, sig, req.signalGroup);
    send(SIGTERM);
    const left = await waitGone(targets(), req.timeoutSeconds * 1000, { pid: req.pid, fd: pidfd });
    if (left.length === 0) return { stopped: true, killed: false };
    if (!req.force) return { stopped: false, reason: 'timeout' };
    send(SIGKILL);
    const stubborn = await waitGone(targets(), KILL_WAIT_MS, { pid: req.pid, fd: pidfd });
    return stubborn.length === 0 ? { stopped: true, killed: true } : { stopped: false, reason: 'timeout' };
  } finally {
    if (pidfd >= 0) closeSync(pidfd);
  }
}

function tryKill(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw notPermitted(`Cannot signal PID ${Math.abs(pid)}`, Math.abs(pid), err);
    if (code !== 'ESRCH') throw err;
  }
}

/** The real uid a process runs as, from /proc (undefined when gone or unreadable). */
function uidOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readProcText(`/proc/${pid}/status`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function notPermitted(what: string, pid: number, cause?: unknown): DaemonError {
  const uid = uidOf(pid);
  const owner = uid === undefined ? '' : ` (it runs as uid ${uid})`;
  return new DaemonError('not-permitted', `${what}: operation not permitted${owner}`, { cause });
}

/**
 * Before anything is printed or sent: a daemon this caller may not signal (another user's, for a
 * caller that is not root) is a clear ERROR naming it, not a failed kill halfway through.
 * `doing`: "stop", "reload".
 */
export function assertMaySignal(pid: number, name: string, doing: string): void {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') throw notPermitted(`Cannot ${doing} ${name} (PID ${pid})`, pid, err);
  }
}

/**
 * Waits until every pid is gone (exited, or a zombie); resolves to those still alive at the
 * timeout. `pinned`: a pidfd the caller already holds for one of them (left open).
 */
export async function waitGone(pids: number[], timeoutMs: number, pinned?: { pid: number; fd: number }): Promise<number[]> {
  const fds = new Map<number, number>();
  for (const pid of pids) {
    const fd = pid === pinned?.pid && pinned.fd >= 0 ? pinned.fd : pidfdOpen(pid);
    if (fd >= 0) fds.set(fd, pid);
  }
  try {
    if (fds.size === pids.length) {
      const pending = await waitReadable([...fds.keys()], timeoutMs);
      return pending.map((fd) => fds.get(fd)!).filter((pid) => !isGone(readStat(pid)));
    }
    return await pollGone(pids, timeoutMs);
  } finally {
    for (const fd of fds.keys()) if (fd !== pinned?.fd) closeSync(fd);
  }
}

async function pollGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    const alive = pids.filter((pid) => !isGone(readStat(pid)));
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 50);
  }
}
