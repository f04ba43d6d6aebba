import { EXIT } from '../errors.js';
import { warn } from '../log.js';
import { claimPidFile, removePidFileIfOwn } from '../pidfile.js';
import { placeOf } from '../piddir.js';
import type { ActionOptions } from '../types.js';
import { runForeground } from '../engine/foreground.js';
import { commandSpecFrom } from './specs.js';
import { dieOf, signalNumber } from '../signals.js';

/** `run`: the command in front, for systemd ExecStart= and container ENTRYPOINTs. */
export async function run(opts: ActionOptions): Promise<number> {
  const pidFile = opts.defaultPidFile ? undefined : opts.pidFile;
  if (pidFile !== undefined) {
    const claim = await claimPidFile(pidFile, placeOf(opts));
    if (!claim.claimed) {
      warn(`${opts.name} already running with PID ${claim.pid}`);
      return EXIT.ok;
    }
  }
  let end;
  try {
    end = await runForeground({
      ...commandSpecFrom(opts),
      signalGroup: opts.signalGroup,
      stopTimeout: opts.stopTimeout,
      subreaper: opts.subreaper,
      grace: opts.grace,
      notify: opts.notify,
      probes: opts.probes,
    });
  } finally {
    // On every way out, a command that never ran (127/126, an unopenable output file) included.
    if (pidFile !== undefined) removePidFileIfOwn(pidFile, process.pid);
  }
  if ('exitCode' in end) return end.exitCode;
  dieOf(end.reraise);
  await new Promise((r) => setTimeout(r, 100));
  return 128 + (signalNumber(end.reraise) ?? 15);
}
