// The kinds of value an option takes: how the CLI's text and a Daemon option's value are parsed,
// which JavaScript types a Daemon option may be, and the words a TypeError uses for it.
import { usageError } from '../base/errors.js';
import {
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

interface KindDef {
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
  parse(label: string, value: never, base?: string): unknown;
}

const id = (_label: string, value: unknown): unknown => value;

export type Kind =
  | 'name' | 'path' | 'directory' | 'seconds' | 'umask' | 'signal' | 'user' | 'group' | 'fds' | 'port' | 'command' | 'switch'
  | 'function' | 'detach' | 'rewrite' | 'exit-map' | 'fd' | 'restart' | 'restart-limit';

export const KINDS: Record<Kind, KindDef> = {
  name: { library: ['string'], expected: "a non-empty name without '/' or newlines", typeExpected: 'a string', parse: parseName },
  path: { library: ['string'], expected: 'a non-empty path', parse: absolutePath },
  directory: { library: ['string'], expected: 'a non-empty path', parse: absolutePath },
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
  switch: { library: ['boolean'], expected: 'true or false', parse: id },
  function: { library: ['function'], expected: 'a function', parse: id },
  detach: {
    library: ['boolean', 'string'],
    expected: "true, false or 'auto'",
    parse: (label: string, value: unknown) => {
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
