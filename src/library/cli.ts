// daemon.cli(): `node app.js ACTION [flags]` for a library daemon. Built-in actions take the flags
// below (they override the Daemon's options for this run); custom actions get the words after them.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { usageError } from '../errors.js';
import { parseSeconds, parseSignal } from '../options.js';
import type { DaemonConfig } from './config.js';

export interface CustomAction {
  fn: (args: string[]) => number | void | undefined | Promise<number | void | undefined>;
  help: string;
}

const BUILT_IN_HELP: [string, string][] = [
  ['start', 'start the daemon (detached unless PID 1, under systemd, or stdin is a socket)'],
  ['stop', 'stop the daemon and wait for it to exit'],
  ['restart', 'stop the daemon if running, then start it'],
  ['status', 'show pid, state, uptime, %cpu and %mem (--json for JSON)'],
  ['reload', 'tell the running daemon to restart itself in place (SIGHUP)'],
  ['run', 'run the worker in the foreground'],
];

const FLAGS = {
  'pid-file': { type: 'string' },
  'stop-timeout': { type: 'string' },
  grace: { type: 'string' },
  'start-timeout': { type: 'string' },
  notify: { type: 'boolean' },
  'signal-group': { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  'reload-signal': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type ParsedDaemonCli =
  | { kind: 'help' }
  | { kind: 'action'; action: string; args: string[]; overrides: Partial<DaemonConfig> };

export function daemonUsage(name: string, actions: Map<string, CustomAction>): string {
  const names = [...BUILT_IN_HELP.map(([a]) => a), ...actions.keys()];
  return `Usage: ${name} <${names.join('|')}> [options]`;
}

export function daemonHelp(name: string, actions: Map<string, CustomAction>): string {
  const rows = [...BUILT_IN_HELP, ...[...actions].map(([a, { help }]): [string, string] => [a, help])];
  const width = Math.max(...rows.map(([a]) => a.length)) + 2;
  return `${daemonUsage(name, actions)}

Actions:
${rows.map(([a, h]) => `  ${a.padEnd(width)}${h}`).join('\n')}

Options (built-in actions):
  --pid-file PATH          pid file
  --stop-timeout SECONDS   how long stop waits for the exit
  --grace SECONDS          startup window
  --notify                 wait for the worker's ready() instead of the window
  --start-timeout SECONDS  with --notify: how long to wait
  --signal-group           signal the daemon's whole process group
  --force                  stop: SIGKILL after the timeout
  --json                   status: one JSON object
  --reload-signal SIG      reload: signal to send (default HUP)
  -h, --help               this help
`;
}

export function parseDaemonCli(argv: string[], actions: Map<string, CustomAction>): ParsedDaemonCli {
  const [first, ...rest] = argv;
  if (first === undefined) throw usageError('No action given');
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (actions.has(first)) return { kind: 'action', action: first, args: rest, overrides: {} };
  if (!BUILT_IN_HELP.some(([a]) => a === first)) {
    const valid = [...BUILT_IN_HELP.map(([a]) => a), ...actions.keys()].join(', ');
    throw usageError(`Unknown action '${first}'; valid actions: ${valid}`);
  }
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw usageError((err as Error).message.split('. ')[0] ?? 'bad option');
  }
  if (values.help) return { kind: 'help' };
  const overrides: Partial<DaemonConfig> = {};
  if (values['pid-file'] !== undefined) {
    overrides.pidFile = resolve(values['pid-file']);
    overrides.defaultPidFile = false;
  }
  if (values['stop-timeout'] !== undefined) overrides.stopTimeout = parseSeconds('--stop-timeout', values['stop-timeout']);
  if (values.grace !== undefined) overrides.grace = parseSeconds('--grace', values.grace);
  if (values['start-timeout'] !== undefined) overrides.startTimeout = parseSeconds('--start-timeout', values['start-timeout']);
  if (values.notify) overrides.notify = true;
  if (values['signal-group']) overrides.signalGroup = true;
  if (values.force) overrides.force = true;
  if (values.json) overrides.json = true;
  if (values['reload-signal'] !== undefined) overrides.reloadSignal = parseSignal('--reload-signal', values['reload-signal']);
  return { kind: 'action', action: first, args: [], overrides };
}
