// The one option table. Each entry is one option: its CLI flag, its library name, the kind of
// value it takes, its default, the actions it changes, and its help line. The CLI's parseArgs
// configuration, which action accepts what, both help texts, the Daemon constructor's known keys
// and TypeErrors, and daemon.cli()'s flags are all generated from it (see argv.ts, help.ts,
// library/config.ts, library/daemon-cli.ts). docs/cli.md's option table is generated from it too
// (npm run docs:options). The table is `as const`: its keys are a type (OptionKey), and so are the
// parsed values (Values, valueOf), the option fields of ActionOptions and a Daemon's options.
import { SIGHUP } from '../base/signals.js';
import { ACTIONS, type Action } from '../base/types.js';
import { DETACHING, LAUNCHING } from './action-table.js';
import type { Kind, KindValues } from './kinds.js';

export interface OptionDef {
  /** camelCase: the Daemon option's name, and the key of the parsed value everywhere. */
  key: string;
  /** The CLI flag without its dashes; none for an option only a Daemon takes. */
  flag?: string;
  /** Placeholder in the help; none for a switch. */
  arg?: string;
  kind: Kind;
  /** The CLI actions it changes; every other action refuses it. */
  actions: readonly Action[];
  /** A Daemon constructor option. */
  library: boolean;
  /** A flag of daemon.cli() (it overrides the Daemon's option for that one run). */
  script: boolean;
  /** The CLI flag may be given more than once. */
  multiple?: boolean;
  /** The parsed value when the option is not given (a switch: false; others: undefined). */
  default?: unknown;
  /** The default as the help shows it (for every action without its own in `per`). */
  shownDefault?: string;
  /** Its meaning (for every action without its own in `per`). */
  help: string;
  /**
   * Where one action reads the option differently: its own meaning and/or default there (e.g.
   * run's --work-dir: the current directory). Every help text, docs/cli.md's table and
   * daemon.cli()'s help take the action's own from here; test/help-text.test.ts holds them to it.
   */
  per?: Partial<Record<Action, PerAction>>;
}

interface PerAction {
  meaning?: string;
  /** The default as the help shows it for this action. */
  default?: string;
}

/** Every action about one daemon (all but list). */
const ALL: readonly Action[] = ACTIONS.filter((a) => a !== 'list');
const LAUNCH = LAUNCHING;
const DETACHED = DETACHING;
const OWNER_HELP = "the daemon's own user: a pid directory that start --user made for it is trusted";
const OWNER_GROUP_HELP = "the daemon's own group (see --user)";

export const OPTIONS = [
  {
    key: 'name', flag: 'name', arg: 'NAME', kind: 'name', actions: ALL, library: true, script: false,
    shownDefault: "the command's basename; for an interpreter (node, python, sh, java -jar, ...) its script's, without extension",
    help: 'name in messages and the default pid file',
  },
  { key: 'worker', kind: 'function', actions: [], library: true, script: false, help: "the daemon's work: a sync or async function" },
  {
    key: 'shutdownCallback', kind: 'function', actions: [], library: true, script: false,
    help: 'called once on every way out with a message and a code',
  },
  {
    key: 'pidFile', flag: 'pid-file', arg: 'PATH', kind: 'path', actions: ALL, library: true, script: true,
    shownDefault: '/run/daemonocle/NAME.pid as root, else $XDG_RUNTIME_DIR/daemonocle/NAME.pid, else /tmp/daemonocle-UID/NAME.pid',
    help: 'pid file',
    per: { run: { meaning: "write the wrapper's pid there while CMD runs (status and stop then work)", default: 'none' } },
  },
  {
    key: 'detach', kind: 'detach', actions: [], library: true, script: false, default: 'auto', shownDefault: "'auto'",
    help: "true: a double-fork daemon; false: in front; 'auto': false when PID 1, under systemd or with a socket on stdin",
  },
  {
    key: 'workDir', flag: 'work-dir', arg: 'DIR', kind: 'directory', actions: LAUNCH, library: true, script: false,
    shownDefault: '/', help: 'working directory of the daemon',
    per: { run: { meaning: 'working directory of the command', default: 'the current directory' } },
  },
  {
    key: 'stdoutFile', flag: 'stdout', arg: 'FILE', kind: 'path', actions: LAUNCH, library: true, script: false,
    shownDefault: '/dev/null', help: "append the daemon's stdout to FILE",
    per: { run: { meaning: "append the command's stdout to FILE", default: 'inherited' } },
  },
  {
    key: 'stderrFile', flag: 'stderr', arg: 'FILE', kind: 'path', actions: LAUNCH, library: true, script: false,
    shownDefault: '/dev/null', help: "append the daemon's stderr to FILE",
    per: { run: { meaning: "append the command's stderr to FILE", default: 'inherited' } },
  },
  {
    key: 'umask', flag: 'umask', arg: 'OCTAL', kind: 'umask', actions: LAUNCH, library: true, script: false,
    default: 0o022, shownDefault: '022', help: 'umask of the daemon', per: { run: { meaning: 'umask of the command' } },
  },
  {
    key: 'uid', flag: 'user', arg: 'USER', kind: 'user', actions: ALL, library: true, script: false,
    help: 'run the command as USER (name or uid; a uid with no passwd entry needs --group)',
    per: { stop: { meaning: OWNER_HELP }, status: { meaning: OWNER_HELP }, reload: { meaning: OWNER_HELP } },
  },
  {
    key: 'gid', flag: 'group', arg: 'GROUP', kind: 'group', actions: ALL, library: true, script: false,
    help: 'run the command with GROUP (name or gid)',
    per: { stop: { meaning: OWNER_GROUP_HELP }, status: { meaning: OWNER_GROUP_HELP }, reload: { meaning: OWNER_GROUP_HELP } },
  },
  {
    key: 'closeOpenFiles', kind: 'switch', actions: [], library: true, script: false, default: true, shownDefault: 'true',
    help: 'the daemon gets fds 0-2 and keepFds only; false passes on every fd the caller holds',
  },
  {
    key: 'keepFds', flag: 'keep-fds', arg: 'LIST', kind: 'fds', actions: LAUNCH, library: true, script: false, default: [],
    help: 'extra open fds the command inherits, e.g. 3,4',
  },
  {
    key: 'stopTimeout', flag: 'stop-timeout', arg: 'SECONDS', kind: 'seconds', actions: ['stop', 'restart', 'run'],
    library: true, script: true, default: 10, shownDefault: '10', help: 'how long stop waits for the exit',
    per: { run: { meaning: 'after a forwarded TERM/INT/QUIT, warn when CMD is still alive' } },
  },
  {
    key: 'grace', flag: 'grace', arg: 'SECONDS', kind: 'seconds', actions: LAUNCH, library: true, script: true,
    default: 1, shownDefault: '1', help: 'startup window: dying inside it is a failed start',
    per: { run: { meaning: 'under systemd: READY=1 once CMD survived this long' } },
  },
  {
    key: 'notify', flag: 'notify', kind: 'switch', actions: LAUNCH, library: true, script: true,
    help: "wait for the daemon's own sd_notify READY=1 instead of the window",
    per: { run: { meaning: "under systemd: CMD's own READY=1 (relayed) means ready, not the window" } },
  },
  {
    key: 'startTimeout', flag: 'start-timeout', arg: 'SECONDS', kind: 'seconds', actions: DETACHED, library: true, script: true,
    default: 90, shownDefault: '90', help: 'with --notify or a probe: how long to wait for readiness',
  },
  {
    key: 'readyPort', flag: 'ready-port', arg: '[HOST:]PORT', kind: 'port', actions: LAUNCH, library: true, script: false,
    multiple: true, help: 'probe: ready once a TCP connect succeeds',
  },
  {
    key: 'readyFile', flag: 'ready-file', arg: 'PATH', kind: 'path', actions: LAUNCH, library: true, script: false,
    multiple: true, help: 'probe: ready once PATH exists',
  },
  {
    key: 'readyCmd', flag: 'ready-cmd', arg: "'CMD'", kind: 'command', actions: LAUNCH, library: true, script: false,
    multiple: true, help: 'probe: ready once CMD (run by /bin/sh, as --user/--group) exits 0',
  },
  {
    key: 'readyFd', flag: 'ready-fd', arg: 'N', kind: 'fd', actions: LAUNCH, library: false, script: false,
    help: "readiness: CMD gets a pipe at fd N; its first newline there means ready (s6's notification-fd)",
  },
  {
    key: 'signalGroup', flag: 'signal-group', kind: 'switch', actions: ['stop', 'restart', 'reload', 'run'], library: true,
    script: true, help: "signal the daemon's whole process group, not only its pid",
    per: { run: { meaning: 'forward signals to the whole process group of CMD; when CMD exits, TERM what is left in that group (as dumb-init does) and warn about what outlives --stop-timeout' } },
  },
  {
    key: 'force', flag: 'force', kind: 'switch', actions: ['stop', 'restart'], library: false, script: true,
    help: 'after the timeout, send SIGKILL (never sent otherwise)',
  },
  {
    key: 'json', flag: 'json', kind: 'switch', actions: ['status', 'list'], library: false, script: true,
    help: 'one JSON object on stdout', per: { list: { meaning: 'a JSON array of the status --json objects on stdout' } },
  },
  {
    key: 'pidDir', flag: 'pid-dir', arg: 'DIR', kind: 'path', actions: ['list'], library: false, script: false,
    shownDefault: 'the default pid files\' directory', help: 'the directory whose *.pid files to list',
  },
  {
    key: 'tree', flag: 'tree', kind: 'switch', actions: ['status'], library: false, script: true,
    help: "then one line per process of the group and its descendants, drawn by parent (with --json: \"tree\")",
  },
  {
    key: 'reloadSignal', flag: 'reload-signal', arg: 'SIG', kind: 'signal', actions: ['reload'], library: true, script: true,
    default: SIGHUP, shownDefault: 'HUP', help: 'signal to send',
  },
  {
    key: 'rewrite', flag: 'rewrite', arg: 'FROM:TO', kind: 'rewrite', actions: ['run'], library: false, script: false,
    multiple: true, default: [], help: 'forward signal FROM as TO (names or numbers; TO none drops it)',
  },
  {
    key: 'mapExit', flag: 'map-exit', arg: 'N:M', kind: 'exit-map', actions: ['run'], library: false, script: false,
    multiple: true, default: [], help: 'exit M where the wrapper would exit N (a code, or 128+n for signal n)',
  },
  {
    key: 'subreaper', flag: 'subreaper', kind: 'switch', actions: ['run'], library: false, script: false,
    help: 'reap orphaned descendants even when not PID 1',
  },
  {
    key: 'restart', flag: 'restart', arg: 'WHEN', kind: 'restart', actions: ['run'], library: false, script: false,
    default: 'no', shownDefault: 'no',
    help: 'start CMD again when it exits: on-failure (a non-zero exit, or a signal no stop sent), always (any exit no stop caused), no',
  },
  {
    key: 'restartDelay', flag: 'restart-delay', arg: 'SECONDS', kind: 'seconds', actions: ['run'], library: false, script: false,
    default: 0.1, shownDefault: '0.1', help: 'with --restart: the first wait before a restart; each failure doubles it',
  },
  {
    key: 'restartMaxDelay', flag: 'restart-max-delay', arg: 'SECONDS', kind: 'seconds', actions: ['run'], library: false,
    script: false, default: 30, shownDefault: '30', help: 'with --restart: the longest wait before a restart',
  },
  {
    key: 'restartReset', flag: 'restart-reset', arg: 'SECONDS', kind: 'seconds', actions: ['run'], library: false,
    script: false, default: 30, shownDefault: '30', help: 'with --restart: a child up this long starts the waits again from --restart-delay',
  },
  {
    key: 'restartLimit', flag: 'restart-limit', arg: 'N/SECONDS', kind: 'restart-limit', actions: ['run'], library: false,
    script: false, default: { starts: 5, seconds: 10 }, shownDefault: '5/10',
    help: "with --restart: give up instead of starting CMD more than N times within SECONDS (systemd's StartLimitBurst/IntervalSec)",
  },
] as const satisfies readonly OptionDef[];

type Def = (typeof OPTIONS)[number];
/** Every option's key: the Daemon option's name, and the key of its parsed value everywhere. */
export type OptionKey = Def['key'];
type DefOf<K extends OptionKey> = Extract<Def, { key: K }>;
/** One option's parsed value: its kind's, or a list of them for a repeatable option. */
export type Value<K extends OptionKey> = DefOf<K> extends { multiple: true } ? KindValues[DefOf<K>['kind']][] : KindValues[DefOf<K>['kind']];
/** Parsed option values by key: what the CLI's flags and a Daemon's options become, before defaults. */
export type Values = { [K in OptionKey]?: Value<K> };
/** An option's value once its default applies: never undefined for one with a default (a switch: false). */
export type Resolved<K extends OptionKey> = DefOf<K> extends { default: unknown } | { kind: 'switch' } ? Value<K> : Value<K> | undefined;

const DEFS: readonly OptionDef[] = OPTIONS;
export const CLI_OPTIONS = DEFS.filter((o): o is OptionDef & { flag: string } => o.flag !== undefined);
export const LIBRARY_OPTIONS = DEFS.filter((o) => o.library);

/** The CLI's words for an option: its flag (`--stdout` for stdoutFile); the key for one without a flag. */
export const flagWords = (key: string): string => {
  const flag = CLI_OPTIONS.find((o) => o.key === key)?.flag;
  return flag === undefined ? key : `--${flag}`;
};

export const acceptedBy = (action: Action): (OptionDef & { flag: string })[] => CLI_OPTIONS.filter((o) => o.actions.includes(action));

/** What the option means for one action (or in general), as the help and the docs say it. */
export function meaningFor(o: OptionDef, action?: Action): string {
  const text = (action === undefined ? undefined : o.per?.[action]?.meaning) ?? o.help;
  return o.multiple ? `${text} (repeatable)` : text;
}

/** The option's default for one action (or in general) as the help shows it; none for no default worth saying. */
export function defaultFor(o: OptionDef, action?: Action): string | undefined {
  return (action === undefined ? undefined : o.per?.[action]?.default) ?? o.shownDefault;
}

/**
 * The help line's text for one action, or the general one. The general one gives every action's
 * default where they differ: "(default: /; run: the current directory)". `among`: only these
 * actions count (daemon.cli()'s).
 */
export function helpLine(o: OptionDef, action?: Action, among: readonly Action[] = o.actions): string {
  const text = meaningFor(o, action);
  const shown = action === undefined ? defaultsSummary(o, among) : defaultFor(o, action);
  return shown === undefined ? text : `${text} (default: ${shown})`;
}

/** The actions (of `among`) grouped by what `of` gives for each, in the registry's order. */
export function groupByAction<T>(o: OptionDef, of: (o: OptionDef, a: Action) => T, among: readonly Action[] = o.actions): { value: T; actions: Action[] }[] {
  const groups: { value: T; actions: Action[] }[] = [];
  for (const a of o.actions.filter((x) => among.includes(x))) {
    const value = of(o, a);
    const group = groups.find((g) => g.value === value);
    if (group) group.actions.push(a);
    else groups.push({ value, actions: [a] });
  }
  return groups;
}

/** Every action's default where they differ: "/; run: the current directory". */
export function defaultsSummary(o: OptionDef, among: readonly Action[]): string | undefined {
  const groups = groupByAction(o, defaultFor, among);
  if (groups.length <= 1) return groups[0]?.value;
  const general = groups.find((g) => g.value === o.shownDefault);
  const others = groups.filter((g) => g !== general).map((g) => `${g.actions.join(', ')}: ${g.value ?? 'none'}`);
  return [...(general === undefined ? [] : [general.value ?? 'none']), ...others].join('; ');
}

/** An option's parsed value, or its default. */
export function valueOf<K extends OptionKey>(values: Readonly<Values>, key: K): Resolved<K> {
  const given = values[key];
  if (given !== undefined) return given as Resolved<K>;
  const o = DEFS.find((d) => d.key === key)!;
  return (o.default ?? (o.kind === 'switch' ? false : undefined)) as Resolved<K>;
}
