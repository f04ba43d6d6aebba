import { EXIT } from '../base/errors.js';
import { error, escapeForTerminal, out, warn } from '../base/log.js';
import { PidFile, type PidFileState, type PidLock } from '../pidfile/pidfile.js';
import { trustedOwners } from '../pidfile/directory.js';
import type { ActionOptions } from '../options/resolve.js';
import { SIGKILL, SIGTERM } from '../base/signals.js';
import { describeMembers, endMembers, findMembers, type FindOptions, type Member, type ServiceId } from '../process/service.js';
import { assertMaySignal, stopProcess } from '../process/stopping.js';

/** After SIGKILL, how long to wait for the kernel to finish the service's processes. */
const KILL_WAIT_MS = 5000;
/** What is left of a service once its daemon exited gets at least this long after its TERM. */
const MEMBERS_MIN_MS = 100;

export async function stop(opts: ActionOptions): Promise<number> {
  // No pid file (and no lock file): nothing to stop, and nothing is created to say so.
  const pidFile = PidFile.of(opts);
  const lock = await pidFile.lockIfPidFile(opts.stopTimeout);
  if (lock === 'no-pid-file') {
    warn(`${opts.name} is not running`);
    return EXIT.ok;
  }
  try {
    const code = await stopLocked(opts, pidFile, lock);
    // The pid file gone (stopped, or stale and cleared): its lock file goes too, still locked.
    lock?.removeIfNoPidFile();
    return code;
  } finally {
    lock?.release();
  }
}

/** Where a service's processes are believed from: the owners a pid file is trusted from (root, the caller, --user). */
export const serviceTrust = (pidFile: PidFile): FindOptions => ({ trusted: trustedOwners(pidFile.place) });

/**
 * A pid file whose daemon died while processes of its service still run (the daemon was killed,
 * or an earlier stop failed on them): the service, and those processes.
 */
export function leftBehind(pidFile: PidFile, state: PidFileState = pidFile.inspect()): { id: ServiceId; members: Member[] } | undefined {
  if (state.kind !== 'stale' || state.startTime === undefined) return undefined;
  const id = { pid: state.pid, startTime: state.startTime };
  const members = findMembers(id, serviceTrust(pidFile));
  return members.length === 0 ? undefined : { id, members };
}

/**
 * Stop, with the pid-file lock already held by the caller (restart holds it across both); no lock
 * where locking is impossible.
 */
export async function stopLocked(opts: ActionOptions, pidFile: PidFile, lock: PidLock | undefined): Promise<number> {
  // One reading of the pid file decides: a daemon that exits right after it is stopped (and its
  // service ended) below, never mistaken for "not running" by a second reading.
  const state = pidFile.inspect();
  const orphaned = leftBehind(pidFile, state);
  if (orphaned) {
    out(`Stopping ${escapeForTerminal(opts.name)} ... `);
    return finish(opts, pidFile, lock, orphaned.id, Date.now(), false);
  }
  const running = state.kind === 'running' ? state : pidFile.runningOrCleared(lock);
  if (!running) {
    warn(`${opts.name} is not running`);
    return EXIT.ok;
  }
  assertMaySignal(running.pid, opts.name, 'stop');
  out(`Stopping ${escapeForTerminal(opts.name)} ... `);
  const began = Date.now();
  const result = await stopProcess({
    pid: running.pid,
    stat: running.stat,
    signalGroup: opts.signalGroup,
    timeoutSeconds: opts.stopTimeout,
    force: opts.force,
  }).catch((err: unknown) => {
    // A signal refused after all (e.g. to a member of the group): the line ends before the ERROR.
    out('FAILED\n');
    throw err;
  });
  if (!result.stopped) {
    out('FAILED\n');
    error(`Timed out while waiting for process (PID ${running.pid}) to terminate`);
    return EXIT.failure;
  }
  return finish(opts, pidFile, lock, { pid: running.pid, startTime: running.stat.startTime }, began, result.killed);
}

/**
 * The daemon is gone: what is left of its service gets SIGTERM and the rest of --stop-timeout
 * (SIGKILL after it with --force). OK, and the pid file removed, only when nothing of it runs.
 */
async function finish(opts: ActionOptions, pidFile: PidFile, lock: PidLock | undefined, id: ServiceId, began: number, daemonKilled: boolean): Promise<number> {
  const trust = serviceTrust(pidFile);
  const leftMs = Math.max(MEMBERS_MIN_MS, opts.stopTimeout * 1000 - (Date.now() - began));
  const survivors = await endMembers(id, trust, SIGTERM, leftMs);
  let killed = '';
  if (survivors.length > 0 && opts.force) {
    // Named before the SIGKILL, while their command lines can still be read.
    killed = `${processes(survivors.length)} of ${opts.name} did not stop in ${opts.stopTimeout} s and ${survivors.length === 1 ? 'was' : 'were'} killed with SIGKILL: ${describeMembers(survivors)}`;
    const stubborn = await endMembers(id, trust, SIGKILL, KILL_WAIT_MS);
    if (stubborn.length > 0) return failed(opts, stubborn);
  } else if (survivors.length > 0) {
    return failed(opts, survivors);
  }
  pidFile.removeIfOwn(id.pid, lock);
  out('OK\n');
  if (daemonKilled) {
    warn(`${opts.name} (PID ${id.pid}) did not stop in ${opts.stopTimeout} s and was killed with SIGKILL`);
  }
  if (killed !== '') warn(killed);
  return EXIT.ok;
}

const processes = (n: number) => `${n} ${n === 1 ? 'process' : 'processes'}`;

/** Nothing is killed, and the pid file stays: a later `stop` (or `stop --force`) finds them again. */
function failed(opts: ActionOptions, survivors: Member[]): number {
  out('FAILED\n');
  error(`${processes(survivors.length)} of ${opts.name} still running after ${opts.stopTimeout} s: ${describeMembers(survivors)}`);
  return EXIT.failure;
}
