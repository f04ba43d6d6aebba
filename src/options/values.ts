// The value parsers behind the option registry, shared by the CLI and the library. Every check
// throws a usage DaemonError naming the option and the bad value.
import { fstatSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../base/errors.js';
import { FORWARDED, signalName, signalNumber } from '../base/signals.js';
import { lookupGroup, lookupUser } from '../base/users.js';
import type { Credentials, Probe, Rewrite } from '../base/types.js';

/**
 * The most seconds any option takes: Node's timers hold at most 2^31-1 ms (about 24.8 days) and
 * turn a longer delay into 1 ms, so a longer value is refused rather than silently shortened.
 */
export const MAX_SECONDS = 2147483;

/** Seconds as decimal text ('5', '0.25', '.5'): no hex, octal-looking, exponent or signed forms. */
const DECIMAL_SECONDS = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

export function parseSeconds(option: string, value: string | number): number {
  const n = typeof value === 'number' ? value : DECIMAL_SECONDS.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw usageError(`${option} must be a number of seconds >= 0, not '${value}'`);
  }
  if (n > MAX_SECONDS) {
    throw usageError(`${option} must be at most ${MAX_SECONDS} seconds (about 24.8 days, the longest timer Node holds), not '${value}'`);
  }
  return n;
}

export function parseUmask(option: string, value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 0o777) return value;
  } else if (/^0?[0-7]{1,3}$/.test(value)) {
    return parseInt(value, 8);
  }
  throw usageError(`${option} must be an octal mode between 000 and 777, not '${value}'`);
}

export function parseSignal(option: string, value: string | number): number {
  const n = signalNumber(String(value));
  if (n === undefined || n === 0) throw usageError(`${option} must be a signal name or number (e.g. HUP, USR1), not '${value}'`);
  return n;
}

export function parseName(option: string, value: string): string {
  if (value === '' || value === '.' || value === '..' || /[/\n\0]/.test(value)) {
    throw usageError(`${option} must be a non-empty name without '/' or newlines, not '${value}'`);
  }
  return value;
}

export function parseKeepFds(option: string, value: string | number[]): number[] {
  const parts = typeof value === 'string' ? (value.trim() === '' ? [] : value.split(',')) : value.map(String);
  const fds = parts.map((part) => {
    const text = part.trim();
    if (!/^\d+$/.test(text) || Number(text) < 3 || Number(text) > 65535) {
      throw usageError(`${option} takes file descriptor numbers >= 3, not '${part}'`);
    }
    const fd = Number(text);
    try {
      fstatSync(fd);
    } catch {
      throw usageError(`${option}: file descriptor ${fd} is not open`);
    }
    return fd;
  });
  return [...new Set(fds)].sort((a, b) => a - b);
}

/** A user name or uid that exists (a bare uid need not have a passwd entry). */
export function parseUser(option: string, value: string | number): string {
  const text = String(value);
  if (text === '' || lookupUser(text) === undefined) throw usageError(`${option}: no such user '${text}'`);
  return text;
}

export function parseGroup(option: string, value: string | number): string {
  const text = String(value);
  if (text === '' || lookupGroup(text) === undefined) throw usageError(`${option}: no such group '${text}'`);
  return text;
}

/**
 * A uid with no passwd entry has no group of its own: alone, it would leave the command in the
 * caller's group (root's gid 0). So a launch with such a --user needs --group.
 */
export function userLacksGroup(user: string | undefined, group: string | undefined): boolean {
  return user !== undefined && group === undefined && lookupUser(user)?.name === undefined;
}

/** Checked names or ids (parseUser, parseGroup) to the credentials a launch drops to. */
export function resolveCredentials(user: string | undefined, group: string | undefined): Credentials {
  const creds: Credentials = { uid: undefined, gid: undefined, userName: undefined };
  if (user !== undefined) {
    const entry = lookupUser(user)!;
    creds.uid = entry.uid;
    creds.gid = entry.gid;
    creds.userName = entry.name;
  }
  if (group !== undefined) creds.gid = lookupGroup(group);
  return creds;
}

/** The pid file used when none is given (docs/pid-files.md), for a caller running as uid (default: this process's). */
export function defaultPidFile(name: string, env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  if (uid === 0) return join('/run/daemonocle', `${name}.pid`);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/')) return join(runtime, 'daemonocle', `${name}.pid`);
  return join(`/tmp/daemonocle-${uid}`, `${name}.pid`);
}

/** path made absolute against base (default: this process's cwd). */
export const absolute = (path: string, base?: string): string => (base === undefined ? resolve(path) : resolve(base, path));

function nonEmpty(option: string, value: string): string {
  if (value === '') throw usageError(`${option} needs a non-empty path`);
  return value;
}

/**
 * A path option's value, absolute. base: the directory relative paths are meant from, when it is
 * not this process's cwd (a library daemon runs in its work dir, its caller elsewhere).
 */
export const absolutePath = (option: string, value: string, base?: string): string => absolute(nonEmpty(option, value), base);

/** `PORT`, `HOST:PORT` or `[IPV6]:PORT`; the host defaults to 127.0.0.1. */
export function parsePortProbe(option: string, value: string | number): Probe {
  const text = String(value);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text) ?? /^()(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(`${option} takes [HOST:]PORT (e.g. 8080, 127.0.0.1:8080, [::1]:8080), not '${text}'`);
  }
  return { kind: 'port', host: m[1] || '127.0.0.1', port };
}

export function checkDirectory(option: string, path: string): void {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    throw usageError(`${option}: no such directory '${path}'`);
  }
  if (!ok) throw usageError(`${option}: '${path}' is not a directory`);
}

export function nameFromPidFile(pidFile: string): string {
  const base = pidFile.split('/').pop() ?? 'daemon';
  return base.replace(/\.pid$/, '') || 'daemon';
}

const REWRITE_FORM = "FROM:TO with signal names or numbers (e.g. TERM:QUIT, 15:3, USR1:none)";

/** `FROM:TO`: a forwarded signal FROM is sent as TO, or dropped (`none`). */
export function parseRewrite(option: string, value: string): Rewrite {
  const [fromText, toText, extra] = value.split(':');
  const from = fromText === undefined ? undefined : signalNumber(fromText);
  const to = toText === undefined || toText === '' ? undefined : toText.toLowerCase() === 'none' ? null : signalNumber(toText);
  if (extra !== undefined || from === undefined || from === 0 || to === undefined || to === 0) {
    throw usageError(`${option} takes ${REWRITE_FORM}, not '${value}'`);
  }
  const fromName = signalName(from) as NodeJS.Signals;
  if (!(FORWARDED as readonly string[]).includes(fromName)) {
    throw usageError(`${option}: run forwards only ${FORWARDED.map((s) => s.slice(3)).join(', ')}, so it cannot rewrite ${fromName} ('${value}')`);
  }
  return { from: fromName, to: to === null ? null : (signalName(to) as NodeJS.Signals) };
}

/** `N:M`: where the wrapper would exit N, it exits M (both 0-255). */
export function parseExitMapping(option: string, value: string): [number, number] {
  const m = /^(\d{1,3}):(\d{1,3})$/.exec(value);
  const [n, mapped] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(n <= 255 && mapped <= 255)) throw usageError(`${option} takes N:M with exit codes 0-255 (e.g. 143:0), not '${value}'`);
  return [n, mapped];
}

/** An fd number for the command beyond stdio: 3-65535. */
export function parseCommandFd(option: string, value: string | number): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < 3 || Number(text) > 65535) {
    throw usageError(`${option} takes an fd number >= 3 (0-2 are the command's stdio), not '${value}'`);
  }
  return Number(text);
}

export type RestartMode = 'no' | 'on-failure' | 'always';

/** --restart: no, on-failure or always (systemd's Restart= words). */
export function parseRestartMode(option: string, value: string): RestartMode {
  if (value === 'no' || value === 'on-failure' || value === 'always') return value;
  throw usageError(`${option} takes no, on-failure or always, not '${value}'`);
}

/** --restart-limit N/SECONDS: more than N starts within SECONDS and the service gives up. */
export function parseRestartLimit(option: string, value: string): { starts: number; seconds: number } {
  const m = /^(\d{1,9})\/(\d+(?:\.\d+)?)$/.exec(String(value).trim());
  const starts = m ? Number(m[1]) : NaN;
  const seconds = m ? Number(m[2]) : NaN;
  if (!(starts >= 1 && seconds > 0 && seconds <= MAX_SECONDS)) {
    throw usageError(`${option} takes STARTS/SECONDS with at least one start in a window longer than 0 s (e.g. 5/10), not '${value}'`);
  }
  return { starts, seconds };
}
