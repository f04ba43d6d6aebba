// argv -> action + validated options, from the option registry. Everything wrong with the input
// becomes a usage DaemonError (ERROR line + usage line, exit 2) before anything is started or
// signalled. The same flag parsing serves daemon.cli() (runParseArgs and parseFlagValues, with
// the registry's `script` options).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../base/errors.js';
import { ACTIONS, type Action } from '../base/types.js';
import { ACTION_TABLE } from './action-table.js';
import { KINDS } from './kinds.js';
import { acceptedBy, CLI_OPTIONS, type OptionDef } from './registry.js';
import { closest, didYouMean } from './suggest.js';
import { toActionOptions, type ActionOptions, type Values } from './resolve.js';
import { userLacksGroup } from './values.js';

type FlagDef = OptionDef & { flag: string };

/** The option that names what a stray word before '--' most likely was meant for. */
const STRAY_WORD_OPTION: Partial<Record<Action, string>> = { list: 'pid-dir' };

type ParsedCli =
  | { kind: 'help'; action: Action | undefined }
  | { kind: 'version' }
  | { kind: 'action'; action: Action; options: ActionOptions };

/** The parseArgs configuration for a set of options, with -h/--help (and -v/--version; parseCli maps -V too). */
function parseArgsConfig(options: readonly FlagDef[], withVersion: boolean): ParseArgsConfig['options'] {
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of options) config[o.flag] = { type: o.arg === undefined ? 'boolean' : 'string', multiple: o.multiple ?? false };
  config.help = { type: 'boolean', short: 'h' };
  if (withVersion) config.version = { type: 'boolean', short: 'v' };
  return config;
}

/**
 * parseArgs' error as one ERROR line. An unknown option close to one `action` takes (or, with no
 * action, to any) gets a hint: "Unknown option '--nmae' for start; did you mean --name?".
 */
function describeParseError(err: unknown, options: readonly FlagDef[], action: string | undefined): string {
  const e = err as { code?: string; message: string };
  const option = /'(--?[\w-]+)/.exec(e.message)?.[1] ?? '?';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const takers = options.filter((o) => action === undefined || o.actions.includes(action as Action));
    const matches = option.startsWith('--') ? closest(option.slice(2), [...takers.map((o) => o.flag), 'help']) : [];
    if (matches.length > 0) return `Unknown option '${option}'${action === undefined ? '' : ` for ${action}`}; ${didYouMean(matches.map((m) => `--${m}`))}`;
    return `Unknown option '${option}'; valid options: ${options.map((o) => `--${o.flag}`).join(', ')}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (e.message.includes('ambiguous')) return `Option ${option} needs a value (for a value starting with '-', write ${option}=VALUE)`;
    if (e.message.includes('argument missing')) return `Option ${option} needs a value`;
    return `Option ${option} takes no value`;
  }
  return e.message.split('. ')[0] ?? e.message;
}

/** The action word among args that failed to parse (for the hint), read leniently. */
function actionIn(args: string[], options: readonly FlagDef[]): Action | undefined {
  try {
    const { positionals } = parseArgs({ args, options: parseArgsConfig(options, true), allowPositionals: true, strict: false });
    // The first action word (`--nmae x start`: x is the unknown option's value).
    return positionals.find((p): p is Action => (ACTIONS as readonly string[]).includes(p));
  } catch {
    return undefined;
  }
}

/** Raw parseArgs values to parsed ones keyed by the registry's names; refuses what `action` does not take. */
export function parseFlagValues(raw: Record<string, unknown>, options: readonly FlagDef[], action: string, base?: string): Values {
  const values: Record<string, unknown> = {};
  for (const o of options) {
    const given = raw[o.flag];
    if (given === undefined) continue;
    if (!o.actions.includes(action as Action)) throw usageError(`--${o.flag} does not apply to ${action}`);
    const parse = KINDS[o.kind].parse as (label: string, value: unknown, base?: string) => unknown;
    values[o.key] = Array.isArray(given) ? given.map((v) => parse(`--${o.flag}`, v, base)) : parse(`--${o.flag}`, given, base);
  }
  // Each value as its option's kind parsed it, under the option's key.
  return values as Values;
}

/** `action`: the action the flags are for, when known before parsing (daemon.cli()'s); else read from the words. */
export function runParseArgs(
  args: string[],
  options: readonly FlagDef[],
  withVersion: boolean,
  allowPositionals: boolean,
  action?: string,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options: parseArgsConfig(options, withVersion), allowPositionals, strict: true });
  } catch (err) {
    throw usageError(describeParseError(err, options, action ?? (allowPositionals ? actionIn(args, options) : undefined)));
  }
}

/** A stray word before '--' where an option's value was meant: "did you mean --name web?". */
function strayWordHint(action: Action, word: string, command: string[]): string {
  if (ACTION_TABLE[action].command && command.length === 0) return ` (put the command after '--')`;
  const accepts = (flag: string) => acceptedBy(action).some((o) => o.flag === flag);
  const flag = STRAY_WORD_OPTION[action] ?? (word.includes('/') || word.endsWith('.pid') ? 'pid-file' : 'name');
  if (!accepts(flag) || word.startsWith('-')) return ` (put the command after '--')`;
  return ` for ${action}; did you mean --${flag} ${/^[\w.@%+=:,/-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`}?`;
}

function unknownActionMessage(word: string, extra: string[]): string {
  // `daemonocle web status`: the name came first.
  const later = ACTIONS.find((a) => a === extra[0]);
  if (later !== undefined && acceptedBy(later).some((o) => o.flag === 'name')) return `Unknown action '${word}'; did you mean ${later} --name ${word}?`;
  const matches = closest(word, ACTIONS);
  if (matches.length > 0) return `Unknown action '${word}'; ${didYouMean(matches)}`;
  return `Unknown action '${word}'; valid actions: ${ACTIONS.join(', ')}`;
}

export function parseCli(argv: string[]): ParsedCli {
  const dash = argv.indexOf('--');
  // -V, as before -v became the short --version (node -v, npm -v).
  const own = (dash < 0 ? argv : argv.slice(0, dash)).map((a) => (a === '-V' ? '--version' : a));
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const { values: raw, positionals } = runParseArgs(own, CLI_OPTIONS, true, true);
  const [actionWord, ...extra] = positionals;
  const action = ACTIONS.find((a) => a === actionWord);

  if (raw.version) return { kind: 'version' };
  // `daemonocle help [ACTION]`, as git and npm take it: ACTION --help.
  if (actionWord === 'help') {
    const [about, ...more] = extra;
    if (more.length > 0) throw usageError(`Unexpected argument '${more[0]}' (help takes one action)`);
    if (about === undefined) return { kind: 'help', action: undefined };
    const topic = ACTIONS.find((a) => a === about);
    if (topic === undefined) throw usageError(unknownActionMessage(about, []));
    return { kind: 'help', action: topic };
  }
  if (raw.help) return { kind: 'help', action };
  if (actionWord === undefined) throw usageError('No action given');
  if (action === undefined) throw usageError(unknownActionMessage(actionWord, extra));
  if (extra.length > 0) throw usageError(`Unexpected argument '${extra[0]}'${strayWordHint(action, extra[0]!, command)}`);

  const values = parseFlagValues(raw, CLI_OPTIONS, action);
  if (ACTION_TABLE[action].command && command.length === 0) throw usageError(`${action} needs a command after '--'`);
  if (ACTION_TABLE[action].command && userLacksGroup(values.uid, values.gid)) {
    throw usageError(`--user ${values.uid} has no passwd entry, so no group of its own: give --group too`);
  }
  // list is about no one daemon: it needs no name.
  const fallbackName = action === 'list' ? 'list' : undefined;
  const options = toActionOptions(values, { command, workDir: action === 'run' ? process.cwd() : '/', action, fallbackName });
  return { kind: 'action', action, options };
}
