// Parsed option values (keyed by the registry's camelCase names) to the ActionOptions an action
// runs with: defaults from the registry, then what is derived (name, pid file, probes, credentials).
import { usageError } from '../base/errors.js';
import type { Credentials, Probe, RestartPolicy } from '../base/types.js';
import { valueOf, type OptionKey, type Resolved, type Values } from './registry.js';
import { defaultName } from './names.js';
import { defaultPidFile, nameFromPidFile, resolveCredentials } from './values.js';

export type { Values };

/** The options an action takes as they are, each typed by the registry (its kind, and its default). */
type Plain =
  | 'stdoutFile' | 'stderrFile' | 'umask' | 'stopTimeout' | 'grace' | 'signalGroup' | 'force' | 'json' | 'tree' | 'keepFds'
  | 'notify' | 'startTimeout' | 'reloadSignal' | 'subreaper' | 'rewrite' | 'mapExit' | 'pidDir';

type PlainOptions = { [K in Plain]: Resolved<K> };

/**
 * What an action runs with: the CLI's flags or a Daemon's options, validated, defaults filled in.
 * The options taken as they are come typed from the registry; the rest are derived from them.
 */
export interface ActionOptions extends PlainOptions {
  /** Given, or derived from the command, the script or the pid file. */
  name: string;
  pidFile: string;
  /** true when pidFile is the derived default (its directory may be created 0700). */
  defaultPidFile: boolean;
  command: string[];
  workDir: string;
  /** From uid and gid (--user, --group). */
  credentials: Credentials;
  /** Environment of the daemon (default: the caller's). */
  env?: NodeJS.ProcessEnv;
  /** Started by the library (the script re-run as the daemon): hints name its options, not the CLI's. */
  library?: boolean;
  /** A READY=1 from the daemon ends the grace window early (the library's daemon.ready()). */
  readyEndsWindow?: boolean;
  /** Readiness probes (readyPort, readyFile, readyCmd): ready once every one succeeds (replaces the grace window). */
  probes: Probe[];
  /** The command gets a pipe at this fd; its first newline there means ready (s6's notification-fd). */
  readyFd: number | undefined;
  /** run: start the command again when it exits, and how often (restart, restartDelay, ...). */
  restart: RestartPolicy;
}

const PLAIN: readonly Plain[] = [
  'stdoutFile', 'stderrFile', 'umask', 'stopTimeout', 'grace', 'signalGroup', 'force', 'json', 'tree', 'keepFds',
  'notify', 'startTimeout', 'reloadSignal', 'subreaper', 'rewrite', 'mapExit', 'pidDir',
];

function plainOptions(values: Values): PlainOptions {
  const plain: Partial<Record<OptionKey, unknown>> = {};
  for (const key of PLAIN) plain[key] = valueOf(values, key);
  return plain as PlainOptions;
}

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

/** A probe option: a list from the CLI (repeatable), one value from a Daemon. */
const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export function toActionOptions(values: Values, how: Derivation): ActionOptions {
  const pidFile = values.pidFile;
  const workDir = values.workDir ?? how.workDir;
  let name = values.name ?? defaultName(how.command, workDir) ?? how.fallbackName;
  if (name === undefined) {
    if (pidFile === undefined) throw usageError(`${how.action ?? 'this action'} needs --name, --pid-file or a command after '--'`);
    name = nameFromPidFile(pidFile);
  }
  const probes: Probe[] = [
    ...list(values.readyPort),
    ...list(values.readyFile).map((path) => ({ kind: 'file' as const, path })),
    ...list(values.readyCmd).map((command) => ({ kind: 'cmd' as const, command })),
  ];
  return {
    ...plainOptions(values),
    name,
    pidFile: pidFile ?? defaultPidFile(name),
    defaultPidFile: pidFile === undefined,
    command: how.command,
    workDir,
    credentials: resolveCredentials(values.uid, values.gid),
    probes,
    readyFd: checkReadyFd(values),
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
  const fd = values.readyFd;
  if (fd === undefined) return undefined;
  if (valueOf(values, 'keepFds').includes(fd)) throw usageError(`--ready-fd ${fd} is also in --keep-fds`);
  if (valueOf(values, 'notify')) {
    throw usageError('--ready-fd and --notify are two readiness signals from one command: give one (probes may join either)');
  }
  return fd;
}
