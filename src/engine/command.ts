// Checks the command before anything is spawned, so "not found" is a clear one-line reason
// rather than an exit code 127 seen in the startup window.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { DaemonError, reason } from '../base/errors.js';

/** The argv to execute: relative paths made absolute (the daemon's cwd differs from ours). */
export function resolveCommand(argv: string[], env: NodeJS.ProcessEnv, callerCwd = process.cwd()): string[] {
  const [command, ...args] = argv;
  if (command === undefined || command === '') {
    throw new DaemonError('command-unusable', 'No command given');
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
      if (!firstProblem && (err as DaemonError).message.includes('permission denied')) firstProblem = err as DaemonError;
    }
  }
  throw firstProblem ?? new DaemonError('command-unusable', `Cannot run ${command}: command not found in PATH`);
}

function checkExecutable(command: string, path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : reason(err);
    throw new DaemonError('command-unusable', `Cannot run ${command}: ${why}`, { cause: err });
  }
  if (isDir) throw new DaemonError('command-unusable', `Cannot run ${command}: it is a directory`);
  try {
    accessSync(path, constants.X_OK);
  } catch (err) {
    throw new DaemonError('command-unusable', `Cannot run ${command}: permission denied (not executable)`, { cause: err });
  }
}
