// Checks the command before anything is spawned, so "not found" is a clear one-line reason
// rather than an exit code 127 seen in the startup window. Each refusal carries the exit code the
// shell and tini give it (`run` exits with it): 127 when there is no such command, 126 when there
// is one that cannot be run.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { DaemonError, reason } from '../base/errors.js';

const NOT_FOUND = 127;
const NOT_RUNNABLE = 126;

/** The argv to execute: relative paths made absolute (the daemon's cwd differs from ours). */
export function resolveCommand(argv: string[], env: NodeJS.ProcessEnv, callerCwd = process.cwd()): string[] {
  const [command, ...args] = argv;
  if (command === undefined || command === '') {
    throw new DaemonError('command-unusable', 'No command given', { exitCode: NOT_RUNNABLE });
  }
  if (command.includes('/')) {
    const path = isAbsolute(command) ? command : resolve(callerCwd, command);
    checkExecutable(command, path);
    return [path, ...args];
  }
  const dirs = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter);
  let firstProblem: DaemonError | undefined;
  for (const dir of dirs) {
    const path = join(dir === '' ? callerCwd : resolve(callerCwd, dir), command);
    try {
      checkExecutable(command, path);
      return [command, ...args];
    } catch (err) {
      // One there but not runnable by us (EACCES) is what to report, not the PATH's misses.
      const cause = (err as DaemonError).cause as NodeJS.ErrnoException | undefined;
      if (!firstProblem && cause?.code === 'EACCES') firstProblem = err as DaemonError;
    }
  }
  throw firstProblem ?? new DaemonError('command-unusable', `Cannot run ${command}: command not found in PATH`, { exitCode: NOT_FOUND });
}

function checkExecutable(command: string, path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DaemonError('command-unusable', `Cannot run ${command}: ${missing ? 'no such file' : reason(err)}`, {
      exitCode: missing ? NOT_FOUND : NOT_RUNNABLE,
      cause: err,
    });
  }
  if (isDir) throw new DaemonError('command-unusable', `Cannot run ${command}: it is a directory`, { exitCode: NOT_RUNNABLE });
  try {
    accessSync(path, constants.X_OK);
  } catch (err) {
    throw new DaemonError('command-unusable', `Cannot run ${command}: permission denied (not executable)`, { exitCode: NOT_RUNNABLE, cause: err });
  }
}
