// Daemon constructor options: validated up front, each mistake a TypeError naming the option and
// the bad value (the CLI helper turns the same mistakes into ERROR + exit 2).
import { basename, resolve } from 'node:path';
import { DaemonError } from '../errors.js';
import { parsePortProbe, type Probe } from '../engine/probe-spec.js';
import { defaultPidFile, parseKeepFds, parseName, parseSeconds, parseSignal, parseUmask, resolveCredentials, type Credentials } from '../options.js';

export type Worker = () => unknown;
export type ShutdownCallback = (message: string, code: number) => unknown;

export interface DaemonOptions {
  /** Name in messages and the default pid file. Default: basename of the script (process.argv[1]). */
  name?: string;
  /** The daemon's work: sync or async. When it returns (or its promise settles) the daemon ends. */
  worker?: Worker;
  /** Called once on every way out with a message and a code (see README "Shutdown callback"). */
  shutdownCallback?: ShutdownCallback;
  pidFile?: string;
  /** true: double-fork daemon; false: run in front; 'auto' (default): false when PID 1, under systemd or with a socket on stdin. */
  detach?: boolean | 'auto';
  workDir?: string;
  stdoutFile?: string;
  stderrFile?: string;
  /** A number (0o027) or an octal string ('027'). Default 0o022. */
  umask?: number | string;
  /** User to run as: a name or a uid. */
  uid?: number | string;
  /** Group to run as: a name or a gid. */
  gid?: number | string;
  /** Default true: the daemon gets fds 0-2 and keepFds only. */
  closeOpenFiles?: boolean;
  keepFds?: number[];
  /** Seconds stop waits for the exit. Default 10. */
  stopTimeout?: number;
  /** Seconds of the startup window. Default 1. */
  grace?: number;
  /** Wait for the worker's ready() instead of the grace window. */
  notify?: boolean;
  /** With notify: seconds to wait for ready(). Default 90. */
  startTimeout?: number;
  signalGroup?: boolean;
  /** Signal the reload action sends. Default 'SIGHUP'. */
  reloadSignal?: string | number;
  /** Probe: ready once a TCP connect to [HOST:]PORT succeeds (HOST default 127.0.0.1). */
  readyPort?: number | string;
  /** Probe: ready once this file exists. */
  readyFile?: string;
  /** Probe: ready once this shell command exits 0. */
  readyCmd?: string;
}

export interface DaemonConfig {
  name: string;
  worker: Worker | undefined;
  shutdownCallback: ShutdownCallback | undefined;
  pidFile: string;
  defaultPidFile: boolean;
  detach: boolean | 'auto';
  workDir: string;
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
  umask: number;
  credentials: Credentials;
  closeOpenFiles: boolean;
  keepFds: number[];
  stopTimeout: number;
  grace: number;
  notify: boolean;
  startTimeout: number;
  signalGroup: boolean;
  reloadSignal: number;
  /** Set by cli() flags only: stop --force, status --json. */
  force: boolean;
  json: boolean;
  probes: Probe[];
}

const KNOWN = new Set([
  'name', 'worker', 'shutdownCallback', 'pidFile', 'detach', 'workDir', 'stdoutFile', 'stderrFile', 'umask', 'uid', 'gid',
  'closeOpenFiles', 'keepFds', 'stopTimeout', 'grace', 'notify', 'startTimeout', 'signalGroup', 'reloadSignal',
  'readyPort', 'readyFile', 'readyCmd',
]);

function describe(value: unknown): string {
  const shown = typeof value === 'string' ? `'${value}'` : typeof value === 'function' ? 'a function' : String(value);
  return `${shown} (${value === null ? 'null' : typeof value})`;
}

function bad(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Daemon option '${option}' must be ${expected}, got ${describe(value)}`);
}

/** Runs a CLI-style validator and rethrows its complaint as a TypeError about the option. */
function via<T>(option: string, expected: string, value: unknown, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof DaemonError) throw bad(option, expected, value);
    throw err;
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string';

function optionalPath(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isStr(value) || value === '') throw bad(option, 'a non-empty path', value);
  return resolve(value);
}

function optionalBool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw bad(option, 'true or false', value);
  return value;
}

function seconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw bad(option, 'a number of seconds >= 0', value);
  return via(option, 'a number of seconds >= 0', value, () => parseSeconds(option, value));
}

function idOrName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return String(value);
  if (isStr(value) && value !== '') return value;
  return '\0invalid';
}

export function resolveDaemonConfig(options: DaemonOptions): DaemonConfig {
  if (options === null || typeof options !== 'object') throw new TypeError(`Daemon options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`Unknown Daemon option '${key}'; valid options: ${[...KNOWN].join(', ')}`);
  }
  const o = options as Record<string, unknown>;
  const nameValue = o.name ?? basename(process.argv[1] ?? 'daemon');
  if (!isStr(nameValue)) throw bad('name', 'a string', nameValue);
  const name = via('name', "a non-empty name without '/' or newlines", nameValue, () => parseName('name', nameValue));

  if (o.worker !== undefined && typeof o.worker !== 'function') throw bad('worker', 'a function', o.worker);
  if (o.shutdownCallback !== undefined && typeof o.shutdownCallback !== 'function') {
    throw bad('shutdownCallback', 'a function', o.shutdownCallback);
  }
  const detach = o.detach ?? 'auto';
  if (detach !== true && detach !== false && detach !== 'auto') throw bad('detach', "true, false or 'auto'", detach);

  const umaskValue = o.umask ?? 0o022;
  if (typeof umaskValue !== 'number' && !isStr(umaskValue)) throw bad('umask', "an octal mode (0o027 or '027')", umaskValue);
  const umask = via('umask', "an octal mode between 0 and 0o777 (0o027 or '027')", umaskValue, () => parseUmask('umask', umaskValue));

  const uid = idOrName(o.uid);
  const gid = idOrName(o.gid);
  if (uid === '\0invalid') throw bad('uid', 'a user name or uid', o.uid);
  if (gid === '\0invalid') throw bad('gid', 'a group name or gid', o.gid);
  const credentials: Credentials = via('uid', 'an existing user', o.uid, () => resolveCredentials(uid, undefined));
  if (gid !== undefined) credentials.gid = via('gid', 'an existing group', o.gid, () => resolveCredentials(undefined, gid).gid);

  let keepFds: number[] = [];
  if (o.keepFds !== undefined) {
    if (!Array.isArray(o.keepFds) || !o.keepFds.every((fd) => Number.isInteger(fd))) throw bad('keepFds', 'an array of open fd numbers >= 3', o.keepFds);
    keepFds = via('keepFds', 'an array of open fd numbers >= 3', o.keepFds, () => parseKeepFds('keepFds', o.keepFds as number[]));
  }

  const reloadValue = o.reloadSignal ?? 'SIGHUP';
  if (typeof reloadValue !== 'number' && !isStr(reloadValue)) throw bad('reloadSignal', 'a signal name or number', reloadValue);
  const reloadSignal = via('reloadSignal', 'a signal name or number', reloadValue, () => parseSignal('reloadSignal', reloadValue));

  const probes: Probe[] = [];
  if (o.readyPort !== undefined) {
    const value = o.readyPort;
    if (typeof value !== 'number' && !isStr(value)) throw bad('readyPort', 'a port or "HOST:PORT"', value);
    probes.push(via('readyPort', 'a port or "HOST:PORT"', value, () => parsePortProbe('readyPort', String(value))));
  }
  const readyFile = optionalPath('readyFile', o.readyFile);
  if (readyFile !== undefined) probes.push({ kind: 'file', path: readyFile });
  if (o.readyCmd !== undefined) {
    if (!isStr(o.readyCmd) || o.readyCmd === '') throw bad('readyCmd', 'a non-empty shell command', o.readyCmd);
    probes.push({ kind: 'cmd', command: o.readyCmd });
  }

  const pidFile = optionalPath('pidFile', o.pidFile);
  return {
    name,
    worker: o.worker as Worker | undefined,
    shutdownCallback: o.shutdownCallback as ShutdownCallback | undefined,
    pidFile: pidFile ?? defaultPidFile(name),
    defaultPidFile: pidFile === undefined,
    detach,
    workDir: optionalPath('workDir', o.workDir) ?? '/',
    stdoutFile: optionalPath('stdoutFile', o.stdoutFile),
    stderrFile: optionalPath('stderrFile', o.stderrFile),
    umask,
    credentials,
    closeOpenFiles: optionalBool('closeOpenFiles', o.closeOpenFiles, true),
    keepFds,
    stopTimeout: seconds('stopTimeout', o.stopTimeout, 10),
    grace: seconds('grace', o.grace, 1),
    notify: optionalBool('notify', o.notify, false),
    startTimeout: seconds('startTimeout', o.startTimeout, 90),
    signalGroup: optionalBool('signalGroup', o.signalGroup, false),
    reloadSignal,
    force: false,
    json: false,
    probes,
  };
}
