import { EXIT, usageError } from '../base/errors.js';
import { warn } from '../base/log.js';
import { activationCount, activationFds } from '../systemd/notify.js';
import { PidFile } from '../pidfile/pidfile.js';
import type { ActionOptions } from '../options/resolve.js';
import { runForeground, type ForegroundEnd } from '../engine/foreground.js';
import { superviseForeground } from '../engine/supervise.js';
import { credentialsForCaller } from '../engine/credentials.js';
import { commandSpecFrom } from './specs.js';
import { dieOf, exitCodeFor } from '../base/signals.js';

/** `run`: the command in front, for systemd ExecStart= and container ENTRYPOINTs. */
export async function run(opts: ActionOptions): Promise<number> {
  opts = { ...opts, credentials: credentialsForCaller(opts.credentials) };
  const activated = activationCount();
  if (opts.readyFd !== undefined && opts.readyFd < 3 + activated) {
    throw usageError(`--ready-fd ${opts.readyFd} is one of the socket-activation fds (LISTEN_FDS) the command gets`);
  }
  // Before anything is claimed or spawned: the fds LISTEN_FDS names must be open here.
  activationFds();
  const pidFile = opts.defaultPidFile ? undefined : PidFile.of(opts);
  if (pidFile !== undefined) {
    const claim = await pidFile.claim(opts.startTimeout);
    if (!claim.claimed) {
      warn(`${opts.name} already running with PID ${claim.pid}`);
      return EXIT.ok;
    }
  }
  let end;
  try {
    const spec = {
      ...commandSpecFrom(opts),
      signalGroup: opts.signalGroup,
      stopTimeout: opts.stopTimeout,
      subreaper: opts.subreaper,
      grace: opts.grace,
      notify: opts.notify,
      probes: opts.probes,
      readyFd: opts.readyFd,
      rewrite: opts.rewrite,
    };
    end = opts.restart.when === 'no' ? await runForeground(spec) : await superviseForeground({ ...spec, restart: opts.restart });
  } finally {
    // On every way out, a command that never ran (127/126, an unopenable output file) included.
    pidFile?.removeIfOwn(process.pid);
  }
  return exitAs(end, new Map(opts.mapExit));
}

/** The child's way out as ours: --map-exit first (a mapped signal death is not re-raised). */
async function exitAs(end: ForegroundEnd, mapExit: ReadonlyMap<number, number>): Promise<number> {
  const code = 'exitCode' in end ? end.exitCode : exitCodeFor(end.reraise);
  const mapped = mapExit.get(code);
  if (mapped !== undefined) return mapped;
  if ('exitCode' in end) return end.exitCode;
  dieOf(end.reraise);
  await new Promise((r) => setTimeout(r, 100));
  return code;
}
