// Parsed option values (keyed by the registry's camelCase names) to the ActionOptions an action
// runs with: defaults from the registry, then what is derived (name, pid file, probes, credentials).
import { usageError } from '../base/errors.js';
import type { ActionOptions, Probe } from '../base/types.js';
import { valueOf } from './registry.js';
import { defaultName } from './names.js';
import { defaultPidFile, nameFromPidFile, resolveCredentials } from './values.js';

export type Values = Record<string, unknown>;

interface Derivation {
  /** The command after '--' (the CLI) or none (the library). */
  command: string[];
  /** The name when none is given and there is no command: the library's script name. */
  fallbackName?: string;
  /** The working directory when none is given. */
  workDir: string;
  /** In messages when no name can be derived. */
  action?: string;
}

const list = <T>(value: unknown): T[] => (value === undefined ? [] : Array.isArray(value) ? (value as T[]) : [value as T]);

export function toActionOptions(values: Values, how: Derivation): ActionOptions {
  const pidFile = values.pidFile as string | undefined;
  const workDir = (values.workDir as string | undefined) ?? how.workDir;
  let name = (values.name as string | undefined) ?? defaultName(how.command, workDir) ?? how.fallbackName;
  if (name === undefined) {
    if (pidFile === undefined) throw usageError(`${how.action ?? 'this action'} needs --name, --pid-file or a command after '--'`);
    name = nameFromPidFile(pidFile);
  }
  const probes: Probe[] = [
    ...list<Probe>(values.readyPort),
    ...list<string>(values.readyFile).map((path) => ({ kind: 'file' as const, path })),
    ...list<string>(values.readyCmd).map((command) => ({ kind: 'cmd' as const, command })),
  ];
  return {
    name,
    pidFile: pidFile ?? defaultPidFile(name),
    defaultPidFile: pidFile === undefined,
    command: how.command,
    workDir,
    stdoutFile: values.stdoutFile as string | undefined,
    stderrFile: values.stderrFile as string | undefined,
    umask: valueOf(values, 'umask'),
    credentials: resolveCredentials(values.uid as string | undefined, values.gid as string | undefined),
    stopTimeout: valueOf(values, 'stopTimeout'),
    grace: valueOf(values, 'grace'),
    signalGroup: valueOf(values, 'signalGroup'),
    force: valueOf(values, 'force'),
    json: valueOf(values, 'json'),
    tree: valueOf(values, 'tree'),
    keepFds: valueOf(values, 'keepFds'),
    notify: valueOf(values, 'notify'),
    startTimeout: valueOf(values, 'startTimeout'),
    reloadSignal: valueOf(values, 'reloadSignal'),
    probes,
    subreaper: valueOf(values, 'subreaper'),
    readyFd: checkReadyFd(values),
    rewrite: valueOf(values, 'rewrite'),
    mapExit: valueOf(values, 'mapExit'),
    pidDir: values.pidDir as string | undefined,
    restart: {
      when: valueOf(values, 'restart'),
      delay: valueOf(values, 'restartDelay'),
      maxDelay: valueOf(values, 'restartMaxDelay'),
      reset: valueOf(values, 'restartReset'),
      limit: valueOf(values, 'restartLimit'),
    },
  };
}

/** --ready-fd is one more readiness signal from the command: not an fd it already gets, not beside its own READY=1. */
function checkReadyFd(values: Values): number | undefined {
  const fd = values.readyFd as number | undefined;
  if (fd === undefined) return undefined;
  if (valueOf<number[]>(values, 'keepFds').includes(fd)) throw usageError(`--ready-fd ${fd} is also in --keep-fds`);
  if (valueOf<boolean>(values, 'notify')) {
    throw usageError('--ready-fd and --notify are two readiness signals from one command: give one (probes may join either)');
  }
  return fd;
}
