import { EXIT } from '../errors.js';
import { lockPidFile } from '../pidfile.js';
import { ensurePidDir, placeOf } from '../piddir.js';
import type { ActionOptions } from '../options.js';
import { startLocked } from './start.js';
import { stopLocked } from './stop.js';

/** Stop (if running) and start, holding the pid-file lock across both. */
export async function restart(opts: ActionOptions): Promise<number> {
  ensurePidDir(opts.pidFile, placeOf(opts));
  const lock = await lockPidFile(opts.pidFile, placeOf(opts), true);
  try {
    const stopped = await stopLocked(opts);
    if (stopped !== EXIT.ok) return stopped;
    return await startLocked(opts, lock);
  } finally {
    lock?.release();
  }
}
