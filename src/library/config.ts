// Daemon constructor options: checked against the option registry up front, each mistake a
// TypeError naming the option and the bad value (daemon.cli() turns the same mistakes into ERROR +
// exit 2). The typed interface below is the public face of the registry's library options: its
// keys and types are held to the registry's at compile time (RegistryDaemonOptions, below), so
// neither can change without the other; it is written out for what a reader hovers in an editor,
// each option with its own doc comment.
import { basename } from 'node:path';
import { DaemonError } from '../base/errors.js';
import { jsTypeOf, KINDS, type Kind } from '../options/kinds.js';
import { LIBRARY_OPTIONS, valueOf, type OPTIONS } from '../options/registry.js';
import { toActionOptions, type ActionOptions, type Values } from '../options/resolve.js';
import { userLacksGroup } from '../options/values.js';

export type Worker = () => unknown;
export type ShutdownCallback = (message: string, code: number) => unknown;

/** An option given as undefined is as if absent (its default applies). */
export interface DaemonOptions {
  /** Name in messages and the default pid file. Default: basename of the script (process.argv[1]). */
  name?: string | undefined;
  /** The daemon's work: sync or async. When it returns (or its promise settles) the daemon ends. */
  worker?: Worker | undefined;
  /** Called once on every way out with a message and a code (see README "Shutdown callback"). */
  shutdownCallback?: ShutdownCallback | undefined;
  pidFile?: string | undefined;
  /** true: double-fork daemon; false: run in front; 'auto' (default): false when PID 1, under systemd or with a socket on stdin. */
  detach?: boolean | 'auto' | undefined;
  workDir?: string | undefined;
  stdoutFile?: string | undefined;
  stderrFile?: string | undefined;
  /** A number (0o027) or an octal string ('027'). Default 0o022. */
  umask?: number | string | undefined;
  /** User to run as: a name or a uid. */
  uid?: number | string | undefined;
  /** Group to run as: a name or a gid. */
  gid?: number | string | undefined;
  /** Default true: the daemon gets fds 0-2 and keepFds only. */
  closeOpenFiles?: boolean | undefined;
  keepFds?: number[] | undefined;
  /** Seconds stop waits for the exit. Default 10. */
  stopTimeout?: number | undefined;
  /** Seconds of the startup window. Default 1. */
  grace?: number | undefined;
  /** Wait for the worker's ready() instead of the grace window. */
  notify?: boolean | undefined;
  /** With notify or a probe: seconds to wait for readiness. Default 90. */
  startTimeout?: number | undefined;
  signalGroup?: boolean | undefined;
  /** Signal the reload action sends. Default 'SIGHUP'. */
  reloadSignal?: string | number | undefined;
  /** Probe: ready once a TCP connect to [HOST:]PORT succeeds (HOST default 127.0.0.1). */
  readyPort?: number | string | undefined;
  /** Probe: ready once this file exists. */
  readyFile?: string | undefined;
  /** Probe: ready once this shell command exits 0. */
  readyCmd?: string | undefined;
}

/** What a Daemon option of each kind may be given as (KINDS[kind].library, as TypeScript types). */
interface LibraryInputs {
  name: string;
  path: string;
  directory: string;
  seconds: number;
  umask: number | string;
  signal: string | number;
  user: number | string;
  group: number | string;
  fds: number[];
  port: number | string;
  command: string;
  switch: boolean;
  detach: boolean | 'auto';
  function: never;
}
/** The two options whose kind is `function`, by their own signatures. */
interface Callbacks {
  worker: Worker;
  shutdownCallback: ShutdownCallback;
}
type LibraryDef = Extract<(typeof OPTIONS)[number], { library: true }>;
type LibraryInput<D extends LibraryDef> = D['key'] extends keyof Callbacks ? Callbacks[D['key']] : LibraryInputs[D['kind'] & Exclude<Kind, 'rewrite' | 'exit-map' | 'fd'>];
/** A Daemon's options as the registry has them: every option marked `library`, typed by its kind. */
type RegistryDaemonOptions = { [D in LibraryDef as D['key']]?: LibraryInput<D> | undefined };

/** Compiles only while the two types are the same, both ways (keys, optionality and value types). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const daemonOptionsAreTheRegistrys: Same<DaemonOptions, RegistryDaemonOptions> = true;
void daemonOptionsAreTheRegistrys;

/** What a Daemon runs with: the action options plus the library's own. */
export interface DaemonConfig extends ActionOptions {
  worker: Worker | undefined;
  shutdownCallback: ShutdownCallback | undefined;
  detach: boolean | 'auto';
  closeOpenFiles: boolean;
}

function describe(value: unknown): string {
  const shown = typeof value === 'string' ? `'${value}'` : typeof value === 'function' ? 'a function' : String(value);
  return `${shown} (${value === null ? 'null' : typeof value})`;
}

function badOption(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Daemon option '${option}' must be ${expected}, got ${describe(value)}`);
}

/**
 * The constructor's options, each checked by its registry kind; the parsed values by key. base:
 * the directory relative paths are resolved against (default: the cwd).
 */
export function checkDaemonOptions(options: DaemonOptions, base?: string): Values {
  if (options === null || typeof options !== 'object') throw new TypeError(`Daemon options must be an object, got ${describe(options)}`);
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const def = LIBRARY_OPTIONS.find((o) => o.key === key);
    if (def === undefined) {
      throw new TypeError(`Unknown Daemon option '${key}'; valid options: ${LIBRARY_OPTIONS.map((o) => o.key).join(', ')}`);
    }
    if (value === undefined) continue;
    const kind = KINDS[def.kind];
    if (!(kind.library as readonly string[]).includes(jsTypeOf(value))) throw badOption(key, kind.typeExpected ?? kind.expected, value);
    try {
      values[key] = (kind.parse as (label: string, v: unknown, base?: string) => unknown)(key, value, base);
    } catch (err) {
      if (err instanceof DaemonError) throw badOption(key, kind.expected, value);
      throw err;
    }
  }
  const parsed = values as Values;
  if (userLacksGroup(parsed.uid, parsed.gid)) {
    throw new TypeError(`Daemon option 'uid' ${describe(options.uid)} has no passwd entry, so no group of its own: give 'gid' too`);
  }
  return parsed;
}

/** The config of one run: the constructor's values, with daemon.cli()'s flags on top. */
export function daemonConfig(values: Values, overrides: Values = {}): DaemonConfig {
  const merged = { ...values, ...overrides };
  return {
    ...toActionOptions(merged, { command: [], fallbackName: basename(process.argv[1] ?? 'daemon'), workDir: '/' }),
    // Checked to be functions; called with the signatures DaemonOptions gives them.
    worker: merged.worker as Worker | undefined,
    shutdownCallback: merged.shutdownCallback as ShutdownCallback | undefined,
    detach: valueOf(merged, 'detach'),
    closeOpenFiles: valueOf(merged, 'closeOpenFiles'),
  };
}
