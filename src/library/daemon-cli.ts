// daemon.cli(): `node app.js ACTION [flags]` for a library daemon. Built-in actions take the flags
// below (they override the Daemon's options for this run); custom actions get the words after them.
import { usageError } from '../base/errors.js';
import { ACTION_TABLE, LIBRARY_ACTIONS } from '../options/action-table.js';
import { parseFlagValues, runParseArgs } from '../options/argv.js';
import { row } from '../options/help.js';
import { CLI_OPTIONS, meaningFor, type OptionDef } from '../options/registry.js';
import type { Action } from '../base/types.js';
import type { Values } from '../options/resolve.js';

export interface CustomAction {
  fn: (args: string[]) => number | void | undefined | Promise<number | void | undefined>;
  help: string;
}

/** daemon.cli()'s built-in actions and their help lines, from the table of actions. */
const BUILT_IN_HELP: [string, string][] = LIBRARY_ACTIONS.map((a) => [a, ACTION_TABLE[a].library ?? '']);

/** daemon.cli()'s flags: the registry's options marked `script`. */
const FLAGS = CLI_OPTIONS.filter((o) => o.script);

/** What one flag of daemon.cli() means, its default (a Daemon option's flag: that option) and the built-in actions taking it. */
function libraryFlag(o: OptionDef & { flag: string }): { flag: string; meaning: string; default: string | undefined; actions: Action[] } {
  return {
    flag: o.arg === undefined ? `--${o.flag}` : `--${o.flag} ${o.arg}`,
    meaning: meaningFor(o),
    default: o.library ? `the Daemon's ${o.key}` : o.shownDefault,
    actions: o.actions.filter((a) => (LIBRARY_ACTIONS as readonly Action[]).includes(a)),
  };
}

function flagRows(): string {
  return FLAGS.map((o) => {
    const f = libraryFlag(o);
    return row(f.flag, `${f.meaning}${f.default === undefined ? '' : ` (default: ${f.default})`} [${f.actions.join(', ')}]`);
  }).join('\n');
}

/** docs/library.md's table of cli()'s flags (between its generated-table markers). */
export function markdownLibraryFlagTable(): string {
  const rows = FLAGS.map((o) => {
    const f = libraryFlag(o);
    const cell = (text: string) => text.replaceAll('|', '\\|');
    return `| \`${f.flag}\` | ${f.actions.join(', ')} | ${cell(f.meaning)} | ${f.default === undefined ? '' : cell(f.default)} |`;
  });
  return ['| flag | actions | meaning | default |', '|---|---|---|---|', ...rows].join('\n');
}

type ParsedDaemonCli =
  | { kind: 'help' }
  | { kind: 'action'; action: string; args: string[]; overrides: Values };

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

Options (built-in actions; each takes those the daemonocle CLI's same action takes):
${flagRows()}
${row('-h, --help', 'this help')}
`;
}

/** base: the directory relative paths are resolved against (default: the cwd). */
export function parseDaemonCli(argv: string[], actions: Map<string, CustomAction>, base?: string): ParsedDaemonCli {
  const [first, ...rest] = argv;
  if (first === undefined) throw usageError('No action given');
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (actions.has(first)) return { kind: 'action', action: first, args: rest, overrides: {} };
  if (!BUILT_IN_HELP.some(([a]) => a === first)) {
    const valid = [...BUILT_IN_HELP.map(([a]) => a), ...actions.keys()].join(', ');
    throw usageError(`Unknown action '${first}'; valid actions: ${valid}`);
  }
  const flags = parseBuiltInFlags(first, rest, base);
  return flags === 'help' ? { kind: 'help' } : { kind: 'action', action: first, args: [], overrides: flags };
}

/** A built-in action's flags, as cli() and doAction(BUILT_IN, flags) take them; 'help' for -h. */
export function parseBuiltInFlags(action: string, args: string[], base?: string): Values | 'help' {
  const { values: raw } = runParseArgs(args, FLAGS, false, false, action);
  return raw.help ? 'help' : parseFlagValues(raw, FLAGS, action, base);
}
