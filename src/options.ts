// Validation of user-facing option values, shared by the CLI and (later) the library.
// Every check throws a usage DaemonError naming the option and the bad value.
import { fstatSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { usageError } from './errors.js';
import { signalNumber } from './signals.js';
import type { Probe } from './engine/probe-spec.js';
import { lookupGroup, lookupUser } from './users.js';

export interface Credentials {
  uid: number | undefined;
  gid: number | undefined;
  /** Name for initgroups(); undefined when the uid has no passwd entry. */
  userName: string | undefined;
}

export interface ActionOptions {
  name: string;
  pidFile: string;
  /** true when pidFile is the derived default (its directory may be created). */
  defaultPidFile: boolean;
  command: string[];
  workDir: string;
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
  umask: number;
  credentials: Credentials;
  stopTimeout: number;
  grace: number;
  signalGroup: boolean;
  force: boolean;
  json: boolean;
  keepFds: number[];
  /** Wait for the daemon's own READY=1 instead of the grace window. */
  notify: boolean;
  /** With notify: how long to wait for READY=1. */
  startTimeout: number;
  /** Environment of the daemon (default: the caller's). */
  env?: NodeJS.ProcessEnv;
  /** A READY=1 from the daemon ends the grace window early (the library's daemon.ready()). */
  readyEndsWindow?: boolean;
  /** Signal sent by `reload`. */
  reloadSignal: number;
  /** Readiness probes: ready once every one succeeds (replaces the grace window). */
  probes: Probe[];
  /** run: become a child subreaper and reap orphans even when not PID 1. */
  subreaper?: boolean;
}

export function parseSeconds(option: string, value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*$/.test(value) ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 365 * 24 * 3600) {
    throw usageError(`${option} must be a number of seconds >= 0, not '${value}'`);
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

export function resolveCredentials(user: string | undefined, group: string | undefined): Credentials {
  const creds: Credentials = { uid: undefined, gid: undefined, userName: undefined };
  if (user !== undefined) {
    const entry = lookupUser(user);
    if (entry === undefined) throw usageError(`--user: no such user '${user}'`);
    creds.uid = entry.uid;
    creds.gid = entry.gid;
    creds.userName = entry.name;
  }
  if (group !== undefined) {
    const gid = lookupGroup(group);
    if (gid === undefined) throw usageError(`--group: no such group '${group}'`);
    creds.gid = gid;
  }
  return creds;
}

/** The pid file used when none is given (SPEC §1). */
export function defaultPidFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return join('/run/daemonocle', `${name}.pid`);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/')) return join(runtime, 'daemonocle', `${name}.pid`);
  return join(`/tmp/daemonocle-${uid}`, `${name}.pid`);
}

export function defaultName(command: string[]): string | undefined {
  const first = command[0];
  return first === undefined ? undefined : basename(first) || undefined;
}

export const absolute = (path: string): string => resolve(path);
