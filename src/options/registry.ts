// The one option table. Each entry is one option: its CLI flag, its library name, the kind of
// value it takes, its default, the actions it changes, and its help line. The CLI's parseArgs
// configuration, which action accepts what, both help texts, the Daemon constructor's known keys
// and TypeErrors, and daemon.cli()'s flags are all generated from it (see cli.ts, help.ts,
// library.ts). docs/cli.md's option table is generated from it too (npm run docs:options).
import { SIGHUP } from '../signals.js';
import { ACTIONS, type Action } from '../types.js';
import type { Kind } from './kinds.js';

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
  /** The default as the help shows it. */
  shownDefault?: string;
  help: string;
  /** Where an action reads the option differently (e.g. run's --work-dir default). */
  helpFor?: Partial<Record<Action, string>>;
}

/** Every action about one daemon (all but list). */
const ALL: readonly Action[] = ACTIONS.filter((a) => a !== 'list');
const LAUNCH: readonly Action[] = ['start', 'restart', 'run'];
const DETACHED: readonly Action[] = ['start', 'restart'];
const OWNER_HELP = "the daemon's own user: a pid directory that start --user made for it is trusted";

export const OPTIONS: readonly OptionDef[] = [
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
  },
  {
    key: 'detach', kind: 'detach', actions: [], library: true, script: false, default: 'auto', shownDefault: "'auto'",
    help: "true: a double-fork daemon; false: in front; 'auto': false when PID 1, under systemd or with a socket on stdin",
  },
  {
    key: 'workDir', flag: 'work-dir', arg: 'DIR', kind: 'directory', actions: LAUNCH, library: true, script: false,
    shownDefault: '/', help: 'working directory of the daemon',
    helpFor: { run: 'working directory of the command (default: the current one)' },
  },
  {
    key: 'stdoutFile', flag: 'stdout', arg: 'FILE', kind: 'path', actions: LAUNCH, library: true, script: false,
    shownDefault: '/dev/null', help: "append the daemon's stdout to FILE",
    helpFor: { run: "append the command's stdout to FILE (default: inherited)" },
  },
  {
    key: 'stderrFile', flag: 'stderr', arg: 'FILE', kind: 'path', actions: LAUNCH, library: true, script: false,
    shownDefault: '/dev/null', help: "append the daemon's stderr to FILE",
    helpFor: { run: "append the command's stderr to FILE (default: inherited)" },
  },
  {
    key: 'umask', flag: 'umask', arg: 'OCTAL', kind: 'umask', actions: LAUNCH, library: true, script: false,
    default: 0o022, shownDefault: '022', help: 'umask of the daemon',
  },
  {
    key: 'uid', flag: 'user', arg: 'USER', kind: 'user', actions: ALL, library: true, script: false,
    help: 'run the command as USER (name or uid; a uid with no passwd entry needs --group)',
    helpFor: { stop: OWNER_HELP, status: OWNER_HELP, reload: OWNER_HELP },
  },
  {
    key: 'gid', flag: 'group', arg: 'GROUP', kind: 'group', actions: ALL, library: true, script: false,
    help: 'run the command with GROUP (name or gid)',
    helpFor: { stop: "the daemon's own group (see --user)", status: "the daemon's own group (see --user)", reload: "the daemon's own group (see --user)" },
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
    helpFor: { run: 'after a forwarded TERM/INT/QUIT, warn when CMD is still alive (default: 10)' },
  },
  {
    key: 'grace', flag: 'grace', arg: 'SECONDS', kind: 'seconds', actions: LAUNCH, library: true, script: true,
    default: 1, shownDefault: '1', help: 'startup window: dying inside it is a failed start',
    helpFor: { run: 'under systemd: READY=1 once CMD survived this long (default: 1)' },
  },
  {
    key: 'notify', flag: 'notify', kind: 'switch', actions: LAUNCH, library: true, script: true,
    help: "wait for the daemon's own sd_notify READY=1 instead of the window",
    helpFor: { run: "under systemd: CMD's own READY=1 (relayed) means ready, not the window" },
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
    helpFor: { run: 'forward signals to the whole process group of CMD' },
  },
  {
    key: 'force', flag: 'force', kind: 'switch', actions: ['stop', 'restart'], library: false, script: true,
    help: 'after the timeout, send SIGKILL (never sent otherwise)',
  },
  {
    key: 'json', flag: 'json', kind: 'switch', actions: ['status', 'list'], library: false, script: true,
    help: 'one JSON object on stdout', helpFor: { list: 'a JSON array of the status --json objects' },
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
];

export const CLI_OPTIONS = OPTIONS.filter((o): o is OptionDef & { flag: string } => o.flag !== undefined);
export const LIBRARY_OPTIONS = OPTIONS.filter((o) => o.library);

export function optionByFlag(flag: string): (OptionDef & { flag: string }) | undefined {
  return CLI_OPTIONS.find((o) => o.flag === flag);
}

export const acceptedBy = (action: Action): (OptionDef & { flag: string })[] => CLI_OPTIONS.filter((o) => o.actions.includes(action));

/** The help line's text for one action (with its default), or the general one. */
export function helpLine(o: OptionDef, action?: Action): string {
  const special = action === undefined ? undefined : o.helpFor?.[action];
  if (special !== undefined) return special;
  const text = o.multiple ? `${o.help} (repeatable)` : o.help;
  return o.shownDefault === undefined ? text : `${text} (default: ${o.shownDefault})`;
}

/** An option's parsed value, or its default. */
export function valueOf<T>(values: Readonly<Record<string, unknown>>, key: string): T {
  if (values[key] !== undefined) return values[key] as T;
  const o = OPTIONS.find((d) => d.key === key);
  if (o === undefined) throw new Error(`no option '${key}'`);
  return (o.default ?? (o.kind === 'switch' ? false : undefined)) as T;
}
