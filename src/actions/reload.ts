import { EXIT } from '../base/errors.js';
import { error, escapeForTerminal, out, warn } from '../base/log.js';
import { PidFile } from '../pidfile/pidfile.js';
import type { ActionOptions } from '../options/resolve.js';
import { signalName } from '../base/signals.js';
import { assertMaySignal, signalVerified } from '../process/stopping.js';

/** Sends the reload signal (HUP by default) to the verified daemon; does not wait. */
export async function reload(opts: ActionOptions): Promise<number> {
  const state = PidFile.of(opts).inspect();
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
