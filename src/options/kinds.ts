// The kinds of value an option takes: how the CLI's text and a Daemon option's value are parsed,
// which JavaScript types a Daemon option may be, and the words a TypeError uses for it.
import { usageError } from '../base/errors.js';
import type { Probe, Rewrite } from '../base/types.js';
import type { RestartMode } from './values.js';
import {
  checkDirectory,
  absolutePath,
  parseCommandFd,
  parseExitMapping,
  parseRewrite,
  parseGroup,
  parseKeepFds,
  parseName,
  parsePortProbe,
  parseSeconds,
  parseSignal,
  parseUmask,
  parseUser,
  parseRestartLimit,
  parseRestartMode,
  MAX_SECONDS,
} from './values.js';

type JsType = 'string' | 'number' | 'boolean' | 'function' | 'array';

/** What each kind's parse() gives: the type of an option's parsed value (one of it, for a repeatable one). */
export interface KindValues {
  name: string;
  path: string;
  directory: string;
  seconds: number;
  umask: number;
  signal: number;
  user: string;
  group: string;
  fds: number[];
  port: Probe;
  command: string;
  switch: boolean;
  function: (...args: never[]) => unknown;
  detach: boolean | 'auto';
  rewrite: Rewrite;
  'exit-map': [number, number];
  fd: number;
  restart: RestartMode;
  'restart-limit': { starts: number; seconds: number };
}

export type Kind = keyof KindValues;

export interface KindDef<V = unknown> {
  /** Types a Daemon option of this kind may have. */
  library: readonly JsType[];
  /** "must be ..." in a Daemon option's TypeError. */
  expected: string;
  /** What a wrong JavaScript type is told, when it differs from `expected`. */
  typeExpected?: string;
  /**
   * CLI text or a Daemon option's value to the parsed value; throws a usage DaemonError. base: the
   * directory a relative path is resolved against (paths only; default the cwd).
   */
  parse(label: string, value: never, base?: string): V;
}

const id = <V>(_label: string, value: V): V => value;

/** A directory option: absolute, and it must exist (the CLI's --work-dir and a Daemon's workDir alike). */
function existingDirectory(label: string, value: string, base?: string): string {
  const path = absolutePath(label, value, base);
  checkDirectory(label, path);
  return path;
}

export const KINDS: { [K in Kind]: KindDef<KindValues[K]> } = {
  name: { library: ['string'], expected: "a non-empty name without '/' or newlines", typeExpected: 'a string', parse: parseName },
  path: { library: ['string'], expected: 'a non-empty path', parse: absolutePath },
  directory: { library: ['string'], expected: 'an existing directory', parse: existingDirectory },
  seconds: { library: ['number'], expected: `a number of seconds from 0 to ${MAX_SECONDS}`, parse: parseSeconds },
  umask: {
    library: ['number', 'string'],
    expected: "an octal mode between 0 and 0o777 (0o027 or '027')",
    typeExpected: "an octal mode (0o027 or '027')",
    parse: parseUmask,
  },
  signal: { library: ['number', 'string'], expected: 'a signal name or number', parse: parseSignal },
  user: { library: ['number', 'string'], expected: 'an existing user', typeExpected: 'a user name or uid', parse: parseUser },
  group: { library: ['number', 'string'], expected: 'an existing group', typeExpected: 'a group name or gid', parse: parseGroup },
  fds: { library: ['array'], expected: 'an array of open fd numbers >= 3', parse: parseKeepFds },
  port: { library: ['number', 'string'], expected: 'a port or "HOST:PORT"', parse: parsePortProbe },
  command: {
    library: ['string'],
    expected: 'a non-empty shell command',
    parse: (label: string, value: string) => {
      if (value === '') throw usageError(`${label} needs a non-empty command`);
      return value;
    },
  },
  rewrite: { library: [], expected: 'FROM:TO', parse: parseRewrite },
  'exit-map': { library: [], expected: 'N:M', parse: parseExitMapping },
  fd: { library: ['number'], expected: 'an fd number >= 3', parse: parseCommandFd },
  restart: { library: ['string'], expected: "'no', 'on-failure' or 'always'", parse: parseRestartMode },
  'restart-limit': { library: ['string'], expected: "'STARTS/SECONDS' (e.g. '5/10')", parse: parseRestartLimit },
  switch: { library: ['boolean'], expected: 'true or false', parse: id<boolean> },
  function: { library: ['function'], expected: 'a function', parse: id<(...args: never[]) => unknown> },
  detach: {
    library: ['boolean', 'string'],
    expected: "true, false or 'auto'",
    parse: (label: string, value: unknown): boolean | 'auto' => {
      if (value !== true && value !== false && value !== 'auto') throw usageError(`${label} must be true, false or 'auto'`);
      return value;
    },
  },
};

export function jsTypeOf(value: unknown): JsType | 'other' {
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'function' ? t : 'other';
}
