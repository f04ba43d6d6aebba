import { EXIT } from '../base/errors.js';
import { PidFile } from '../pidfile/pidfile.js';
import type { ActionOptions } from '../options/resolve.js';
import { startLocked } from './start.js';
import { stopLocked } from './stop.js';
import { checkDetachFds } from '../engine/detach.js';
import { credentialsForCaller } from '../engine/credentials.js';

/** Stop (if running) and start, holding the pid-file lock across both. */
export async function restart(opts: ActionOptions): Promise<number> {
  opts = { ...opts, credentials: credentialsForCaller(opts.credentials) };
  checkDetachFds(opts.keepFds, opts.readyFd);
  const lock = await PidFile.of(opts).lockForStart(opts.startTimeout);
  try {
    const stopped = await stopLocked(opts, lock.pidFile, lock);
    if (stopped !== EXIT.ok) return stopped;
    return await startLocked(opts, lock);
  } finally {
    lock.release();
  }
}
