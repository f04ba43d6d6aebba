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
