// argv -> action + validated options. Everything wrong with the input becomes a usage DaemonError
// (ERROR line + usage line, exit 2) before anything is started or signalled.
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { usageError } from '../errors.js';
import { SIGHUP } from '../signals.js';
import { parsePortProbe } from '../engine/probe-spec.js';
import {
  absolute,
  defaultName,
  defaultPidFile,
  parseKeepFds,
  parseName,
  parseSeconds,
  parseSignal,
  parseUmask,
  resolveCredentials,
  type ActionOptions,
} from '../options.js';

export const ACTIONS = ['start', 'stop', 'restart', 'status', 'reload', 'run'] as const;
export type Action = (typeof ACTIONS)[number];

const NEEDS_COMMAND: readonly Action[] = ['start', 'restart', 'run'];

const OPTIONS = {
  name: { type: 'string' },
  'pid-file': { type: 'string' },
  'work-dir': { type: 'string' },
  stdout: { type: 'string' },
  stderr: { type: 'string' },
  umask: { type: 'string' },
  user: { type: 'string' },
  group: { type: 'string' },
  'stop-timeout': { type: 'string' },
  grace: { type: 'string' },
  'signal-group': { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  'keep-fds': { type: 'string' },
  notify: { type: 'boolean' },
  'start-timeout': { type: 'string' },
  'reload-signal': { type: 'string' },
  subreaper: { type: 'boolean' },
  'ready-port': { type: 'string', multiple: true },
  'ready-file': { type: 'string', multiple: true },
  'ready-cmd': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Options that only make sense for some actions. */
const LAUNCH: readonly Action[] = ['start', 'restart', 'run'];
const ONLY_FOR: Partial<Record<keyof typeof OPTIONS, readonly Action[]>> = {
  json: ['status'],
  force: ['stop', 'restart'],
  grace: LAUNCH,
  'work-dir': LAUNCH,
  stdout: LAUNCH,
  stderr: LAUNCH,
  umask: LAUNCH,
  'keep-fds': LAUNCH,
  'stop-timeout': ['stop', 'restart', 'run'],
  notify: LAUNCH,
  'start-timeout': LAUNCH,
  'ready-port': LAUNCH,
  'ready-file': LAUNCH,
  'ready-cmd': LAUNCH,
  'reload-signal': ['reload'],
  subreaper: ['run'],
};

export type ParsedCli =
  | { kind: 'help'; action: Action | undefined }
  | { kind: 'version' }
  | { kind: 'action'; action: Action; options: ActionOptions };

export const validOptionsList = (): string =>
  Object.keys(OPTIONS)
    .map((o) => `--${o}`)
    .join(', ');

function describeParseError(err: unknown): string {
  const e = err as { code?: string; message: string };
  const option = /'(--?[\w-]+)/.exec(e.message)?.[1] ?? '?';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `Unknown option '${option}'; valid options: ${validOptionsList()}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (e.message.includes('ambiguous')) {
      return `Option ${option} needs a value (for a value starting with '-', write ${option}=VALUE)`;
    }
    if (e.message.includes('argument missing')) return `Option ${option} needs a value`;
    return `Option ${option} takes no value`;
  }
  return e.message;
}

export function parseCli(argv: string[]): ParsedCli {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);

  let parsed;
  try {
    parsed = parseArgs({ args: own, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(describeParseError(err));
  }
  const { values, positionals } = parsed;
  const [actionWord, ...extra] = positionals;
  const action = ACTIONS.find((a) => a === actionWord);

  if (values.version) return { kind: 'version' };
  if (values.help) return { kind: 'help', action };
  if (actionWord === undefined) throw usageError('No action given');
  if (action === undefined) throw usageError(`Unknown action '${actionWord}'; valid actions: ${ACTIONS.join(', ')}`);
  if (extra.length > 0) throw usageError(`Unexpected argument '${extra[0]}' (put the command after '--')`);

  for (const [option, actions] of Object.entries(ONLY_FOR)) {
    if (values[option as keyof typeof values] !== undefined && !actions.includes(action)) {
      throw usageError(`--${option} does not apply to ${action}`);
    }
  }
  if (NEEDS_COMMAND.includes(action) && command.length === 0) {
    throw usageError(`${action} needs a command after '--'`);
  }

  const name =
    values.name !== undefined ? parseName('--name', values.name) : defaultName(command) ?? (values['pid-file'] ? undefined : null);
  if (name === null) throw usageError(`${action} needs --name, --pid-file or a command after '--'`);
  const pidFile = values['pid-file'] !== undefined ? absolute(nonEmpty('--pid-file', values['pid-file'])) : undefined;
  const finalName = name ?? nameFromPidFile(pidFile!);

  const workDir = absolute(values['work-dir'] ?? (action === 'run' ? process.cwd() : '/'));
  if (values['work-dir'] !== undefined) checkDirectory('--work-dir', workDir);

  const options: ActionOptions = {
    name: finalName,
    pidFile: pidFile ?? defaultPidFile(finalName),
    defaultPidFile: pidFile === undefined,
    command,
    workDir,
    stdoutFile: values.stdout !== undefined ? absolute(nonEmpty('--stdout', values.stdout)) : undefined,
    stderrFile: values.stderr !== undefined ? absolute(nonEmpty('--stderr', values.stderr)) : undefined,
    umask: values.umask !== undefined ? parseUmask('--umask', values.umask) : 0o022,
    credentials: resolveCredentials(values.user, values.group),
    stopTimeout: values['stop-timeout'] !== undefined ? parseSeconds('--stop-timeout', values['stop-timeout']) : 10,
    grace: values.grace !== undefined ? parseSeconds('--grace', values.grace) : 1,
    signalGroup: values['signal-group'] ?? false,
    force: values.force ?? false,
    json: values.json ?? false,
    keepFds: values['keep-fds'] !== undefined ? parseKeepFds('--keep-fds', values['keep-fds']) : [],
    notify: values.notify ?? false,
    startTimeout: values['start-timeout'] !== undefined ? parseSeconds('--start-timeout', values['start-timeout']) : 90,
    reloadSignal: values['reload-signal'] !== undefined ? parseSignal('--reload-signal', values['reload-signal']) : SIGHUP,
    subreaper: values.subreaper ?? false,
    probes: [
      ...(values['ready-port'] ?? []).map((v) => parsePortProbe('--ready-port', v)),
      ...(values['ready-file'] ?? []).map((v) => ({ kind: 'file' as const, path: absolute(nonEmpty('--ready-file', v)) })),
      ...(values['ready-cmd'] ?? []).map((v) => ({ kind: 'cmd' as const, command: nonEmpty('--ready-cmd', v) })),
    ],
  };
  return { kind: 'action', action, options };
}

function nonEmpty(option: string, value: string): string {
  if (value === '') throw usageError(`${option} needs a non-empty path`);
  return value;
}

function nameFromPidFile(pidFile: string): string {
  const base = pidFile.split('/').pop() ?? 'daemon';
  return base.replace(/\.pid$/, '') || 'daemon';
}

function checkDirectory(option: string, path: string): void {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    throw usageError(`${option}: no such directory '${path}'`);
  }
  if (!ok) throw usageError(`${option}: '${path}' is not a directory`);
}
