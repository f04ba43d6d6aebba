import { EXIT } from '../base/errors.js';
import { error, escapeForTerminal, out, warn } from '../base/log.js';
import { PidFile, type PidLock } from '../pidfile/pidfile.js';
import type { ActionOptions } from '../options/resolve.js';
import { assertMaySignal, stopProcess } from '../process/stopping.js';

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

/**
 * Stop, with the pid-file lock already held by the caller (restart holds it across both); no lock
 * where locking is impossible.
 */
export async function stopLocked(opts: ActionOptions, pidFile: PidFile, lock: PidLock | undefined): Promise<number> {
  const running = pidFile.runningOrCleared(lock);
  if (!running) {
    warn(`${opts.name} is not running`);
    return EXIT.ok;
  }
  assertMaySignal(running.pid, opts.name, 'stop');
  out(`Stopping ${escapeForTerminal(opts.name)} ... `);
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
  if (result.stopped) {
    pidFile.removeIfOwn(running.pid, lock);
    out('OK\n');
    if (result.killed) {
      warn(`${opts.name} (PID ${running.pid}) did not stop in ${opts.stopTimeout} s and was killed with SIGKILL`);
    }
    return EXIT.ok;
  }
  out('FAILED\n');
  error(`Timed out while waiting for process (PID ${running.pid}) to terminate`);
  return EXIT.failure;
}
