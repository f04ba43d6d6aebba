// ActionOptions to what the engines take: the command part of any launch (start, run), and the
// detach engine's whole spec with its readiness rule.
import { environmentFor } from '../engine/credentials.js';
import type { CommandSpec, LaunchSpec } from '../base/types.js';
import type { ActionOptions } from '../options/resolve.js';

export function commandSpecFrom(opts: ActionOptions): CommandSpec {
  return {
    name: opts.name,
    argv: opts.command,
    // Under --user: that user's HOME, USER, LOGNAME, SHELL, for the command and its --ready-cmd.
    env: environmentFor(opts.credentials, opts.env ?? process.env),
    cwd: opts.workDir,
    umask: opts.umask,
    credentials: opts.credentials,
    stdoutFile: opts.stdoutFile,
    stderrFile: opts.stderrFile,
    keepFds: opts.keepFds,
  };
}

export function launchSpecFrom(opts: ActionOptions): LaunchSpec {
  return {
    ...commandSpecFrom(opts),
    pidFile: opts.pidFile,
    readiness: opts.notify || opts.probes.length > 0 || opts.readyFd !== undefined
      ? { kind: 'wait', notify: opts.notify, probes: opts.probes, readyFd: opts.readyFd, timeoutSeconds: opts.startTimeout }
      : { kind: 'grace', seconds: opts.grace, readyEndsWindow: opts.readyEndsWindow ?? false },
  };
}
