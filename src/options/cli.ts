// argv -> action + validated options, from the option registry. Everything wrong with the input
// becomes a usage DaemonError (ERROR line + usage line, exit 2) before anything is started or
// signalled. The same flag parsing serves daemon.cli() (runParseArgs and parseFlagValues, with
// the registry's `script` options).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../errors.js';
import { ACTIONS, type Action, type ActionOptions } from '../types.js';
import { KINDS } from './kinds.js';
import { CLI_OPTIONS, type OptionDef } from './registry.js';
import { toActionOptions, type Values } from './resolve.js';
import { checkDirectory, userLacksGroup } from './values.js';

const NEEDS_COMMAND: readonly Action[] = ['start', 'restart', 'run'];

type FlagDef = OptionDef & { flag: string };

export type ParsedCli =
  | { kind: 'help'; action: Action | undefined }
  | { kind: 'version' }
  | { kind: 'action'; action: Action; options: ActionOptions };

/** The parseArgs configuration for a set of options, with -h/--help (and -V/--version). */
export function parseArgsConfig(options: readonly FlagDef[], withVersion: boolean): ParseArgsConfig['options'] {
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of options) config[o.flag] = { type: o.arg === undefined ? 'boolean' : 'string', multiple: o.multiple ?? false };
  config.help = { type: 'boolean', short: 'h' };
  if (withVersion) config.version = { type: 'boolean', short: 'V' };
  return config;
}

function describeParseError(err: unknown, options: readonly FlagDef[]): string {
  const e = err as { code?: string; message: string };
  const option = /'(--?[\w-]+)/.exec(e.message)?.[1] ?? '?';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `Unknown option '${option}'; valid options: ${options.map((o) => `--${o.flag}`).join(', ')}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (e.message.includes('ambiguous')) return `Option ${option} needs a value (for a value starting with '-', write ${option}=VALUE)`;
    if (e.message.includes('argument missing')) return `Option ${option} needs a value`;
    return `Option ${option} takes no value`;
  }
  return e.message.split('. ')[0] ?? e.message;
}

/** Raw parseArgs values to parsed ones keyed by the registry's names; refuses what `action` does not take. */
export function parseFlagValues(raw: Record<string, unknown>, options: readonly FlagDef[], action: string, base?: string): Values {
  const values: Values = {};
  for (const o of options) {
    const given = raw[o.flag];
    if (given === undefined) continue;
    if (!o.actions.includes(action as Action)) throw usageError(`--${o.flag} does not apply to ${action}`);
    const parse = KINDS[o.kind].parse as (label: string, value: unknown, base?: string) => unknown;
    values[o.key] = Array.isArray(given) ? given.map((v) => parse(`--${o.flag}`, v, base)) : parse(`--${o.flag}`, given, base);
  }
  return values;
}

export function runParseArgs(
  args: string[],
  options: readonly FlagDef[],
  withVersion: boolean,
  allowPositionals: boolean,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options: parseArgsConfig(options, withVersion), allowPositionals, strict: true });
  } catch (err) {
    throw usageError(describeParseError(err, options));
  }
}

export function parseCli(argv: string[]): ParsedCli {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const { values: raw, positionals } = runParseArgs(own, CLI_OPTIONS, true, true);
  const [actionWord, ...extra] = positionals;
  const action = ACTIONS.find((a) => a === actionWord);

  if (raw.version) return { kind: 'version' };
  if (raw.help) return { kind: 'help', action };
  if (actionWord === undefined) throw usageError('No action given');
  if (action === undefined) throw usageError(`Unknown action '${actionWord}'; valid actions: ${ACTIONS.join(', ')}`);
  if (extra.length > 0) throw usageError(`Unexpected argument '${extra[0]}' (put the command after '--')`);

  const values = parseFlagValues(raw, CLI_OPTIONS, action);
  if (NEEDS_COMMAND.includes(action) && command.length === 0) throw usageError(`${action} needs a command after '--'`);
  if (NEEDS_COMMAND.includes(action) && userLacksGroup(values.uid as string | undefined, values.gid as string | undefined)) {
    throw usageError(`--user ${values.uid as string} has no passwd entry, so no group of its own: give --group too`);
  }
  for (const o of CLI_OPTIONS) {
    if (o.kind === 'directory' && values[o.key] !== undefined) checkDirectory(`--${o.flag}`, values[o.key] as string);
  }
  // list is about no one daemon: it needs no name.
  const fallbackName = action === 'list' ? 'list' : undefined;
  const options = toActionOptions(values, { command, workDir: action === 'run' ? process.cwd() : '/', action, fallbackName });
  return { kind: 'action', action, options };
}
