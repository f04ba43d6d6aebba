/** Exit codes, LSB init-script style. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notRunning: 3,
  unknownStatus: 4,
} as const;

export type DaemonErrorCode =
  | 'usage'
  | 'pidfile-unusable'
  | 'pidfile-unwritable'
  | 'output-unwritable'
  | 'command-unusable'
  /** A signal the caller may not send (the daemon runs as another user). */
  | 'not-permitted'
  /** What the environment hands on is unusable (LISTEN_FDS naming fds that are not open). */
  | 'bad-environment'
  | 'unsupported';

/**
 * The one error type: a stable code, the exit code it maps to, the message printed after
 * `ERROR: `, and the original error as `cause`.
 */
export class DaemonError extends Error {
  readonly code: DaemonErrorCode;
  readonly exitCode: number;

  constructor(code: DaemonErrorCode, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaemonError';
    this.code = code;
    this.exitCode = options.exitCode ?? (code === 'usage' ? EXIT.usage : EXIT.failure);
  }
}

/**
 * How a face names an option, given its key: the CLI says `--stdout`, the library `stdoutFile`.
 * The layers below the faces know no flags: a message that names an option is built from its key
 * (optionError) and worded by the face that reports it (wordedMessage; report.ts).
 */
export type OptionWords = (key: string) => string;

/** The library's words: a Daemon option's name is its key. */
export const OPTION_KEYS: OptionWords = (key) => key;

const templates = new WeakMap<DaemonError, (o: OptionWords) => string>();

/**
 * A DaemonError whose message names options: `message` builds it from the options' keys, through
 * `o`. Its `message` is in the library's words (the keys) until a face words it otherwise.
 */
export function optionError(
  code: DaemonErrorCode,
  message: (o: OptionWords) => string,
  options: { exitCode?: number; cause?: unknown } = {},
): DaemonError {
  const err = new DaemonError(code, message(OPTION_KEYS), options);
  templates.set(err, message);
  return err;
}

/** err's message in a face's words (the same message when it names no option). */
export function wordedMessage(err: DaemonError, words: OptionWords): string {
  return templates.get(err)?.(words) ?? err.message;
}

/** The same error with another exit code, its wording kept; the original as its cause. */
export function withExitCode(err: DaemonError, exitCode: number): DaemonError {
  const again = new DaemonError(err.code, err.message, { exitCode, cause: err });
  const message = templates.get(err);
  if (message !== undefined) templates.set(again, message);
  return again;
}

export function usageError(message: string): DaemonError {
  return new DaemonError('usage', message, { exitCode: EXIT.usage });
}

/** errno text without Node's decorations: "permission denied", "no such file or directory". */
export function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or directory',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    ELOOP: 'is a symbolic link',
    EEXIST: 'already exists',
  };
  if (e && typeof e.code === 'string' && known[e.code]) return known[e.code]!;
  // Node's "ENXIO: no such device or address, open '/proc/self/fd/9/out.log'": the words alone
  // (the path may be the internal /proc/self/fd one; the caller names the real path).
  const words = e instanceof Error && typeof e.code === 'string' ? new RegExp(`^${e.code}: ([^,]+),`).exec(e.message)?.[1] : undefined;
  return words ?? (e instanceof Error ? e.message : String(err));
}
