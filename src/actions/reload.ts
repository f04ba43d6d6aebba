import { EXIT } from '../errors.js';
import { error, escapeForTerminal, out, warn } from '../log.js';
import { inspectPidFile } from '../pidfile.js';
import { placeOf } from '../piddir.js';
import type { ActionOptions } from '../types.js';
import { signalName } from '../signals.js';
import { assertMaySignal, signalVerified } from '../stop.js';

/** Sends the reload signal (HUP by default) to the verified daemon; does not wait. */
export async function reload(opts: ActionOptions): Promise<number> {
  const state = inspectPidFile(opts.pidFile, placeOf(opts));
  if (state.kind !== 'running') {
    if (state.kind === 'broken') warn(`Broken pid file ${opts.pidFile}`);
    error(`${opts.name} is not running`);
    return EXIT.failure;
  }
  assertMaySignal(state.pid, opts.name, 'reload');
  if (!signalVerified(state.pid, state.stat, opts.reloadSignal, opts.signalGroup)) {
    error(`${opts.name} is not running`);
    return EXIT.failure;
  }
  out(`Reloading ${escapeForTerminal(opts.name)} ... OK (${signalName(opts.reloadSignal)} sent to PID ${state.pid})\n`);
  return EXIT.ok;
}
