import { EXIT } from '../errors.js';
import { error, out, warn } from '../log.js';
import { inspectPidFile, lockPidFile, removePidFileIfOwn, removeStalePidFile, type PidLock } from '../pidfile.js';
import type { ActionOptions } from '../options.js';
import { stopProcess } from '../stop.js';

export async function stop(opts: ActionOptions): Promise<number> {
  const lock = await lockPidFile(opts.pidFile, false);
  try {
    return (await stopLocked(opts, lock)).code;
  } finally {
    lock?.release();
  }
}

/** Stop with the lock held; `wasRunning` lets restart word its messages. */
export async function stopLocked(opts: ActionOptions, _lock: PidLock | undefined): Promise<{ code: number; wasRunning: boolean }> {
  const state = inspectPidFile(opts.pidFile);
  if (state.kind !== 'running') {
    if (state.kind === 'broken') warn(`Broken pid file ${opts.pidFile}`);
    if (state.kind !== 'missing') removeStalePidFile(opts.pidFile);
    warn(`${opts.name} is not running`);
    return { code: EXIT.ok, wasRunning: false };
  }
  out(`Stopping ${opts.name} ... `);
  const result = await stopProcess({
    pid: state.pid,
    stat: state.stat,
    signalGroup: opts.signalGroup,
    timeoutSeconds: opts.stopTimeout,
    force: opts.force,
  });
  if (result.stopped) {
    removePidFileIfOwn(opts.pidFile, state.pid);
    out('OK\n');
    if (result.killed) {
      warn(`${opts.name} (PID ${state.pid}) did not stop in ${opts.stopTimeout} s and was killed with SIGKILL`);
    }
    return { code: EXIT.ok, wasRunning: true };
  }
  out('FAILED\n');
  error(`Timed out while waiting for process (PID ${state.pid}) to terminate`);
  return { code: EXIT.failure, wasRunning: true };
}
