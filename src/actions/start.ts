import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DaemonError, EXIT, withExitCode } from '../base/errors.js';
import { error, escapeForTerminal, out, warn } from '../base/log.js';
import { PidFile, type PidLock } from '../pidfile/pidfile.js';
import { checkDetachFds, launchDetached } from '../engine/detach.js';
import { credentialsForCaller } from '../engine/credentials.js';
import { launchSpecFrom } from './specs.js';
import { progressLine, type ProgressLine } from '../base/progress.js';
import type { ActionOptions } from '../options/resolve.js';
import { exitCodeFor } from '../base/signals.js';
import { readProcText } from '../process/proc.js';
import { sameCommand, showCommand } from '../options/names.js';

export async function start(opts: ActionOptions): Promise<number> {
  opts = { ...opts, credentials: credentialsForCaller(opts.credentials) };
  checkDetachFds(opts.keepFds, opts.readyFd);
  const lock = await PidFile.of(opts).lockForStart(opts.startTimeout);
  try {
    return await startLocked(opts, lock);
  } finally {
    lock.release();
  }
}

/** Start with the pid-file lock already held (restart holds it across stop and start). */
export async function startLocked(opts: ActionOptions, lock: PidLock): Promise<number> {
  const running = lock.pidFile.runningOrCleared(lock);
  if (running) {
    warn(`${opts.name} already running with PID ${running.pid}${startedAs(running.pid, opts.command)}`);
    return EXIT.ok;
  }

  const prefix = `Starting ${escapeForTerminal(opts.name)} ... `;
  out(prefix);
  const progress = progressLine(prefix);
  const stopListening = onInterrupt(opts, progress);
  try {
    const outcome = await launchDetached(launchSpecFrom(opts), lock, progress).finally(() => progress?.end());
    if (outcome.ok) {
      out('OK\n');
      return EXIT.ok;
    }
    out('FAILED\n');
    error(outcome.message + (outcome.died ? deathHints(opts) : ''));
    const lines = outcome.startupStderr.replace(/\n$/, '');
    if (lines !== '') process.stderr.write(`${lines}\n`);
    return EXIT.failure;
  } catch (err) {
    if (err instanceof DaemonError && err.code !== 'usage') {
      out('FAILED\n');
      throw withExitCode(err, EXIT.failure);
    }
    throw err;
  } finally {
    stopListening();
  }
}

/**
 * Why a command that died in its startup window may have died, when the user cannot see it: a
 * relative path in its arguments that exists here but not in the daemon's work dir, and error
 * output that went to /dev/null.
 */
function deathHints(opts: ActionOptions): string {
  let hints = '';
  const here = process.cwd();
  if (!opts.library && resolve(here) !== resolve(opts.workDir)) {
    const misplaced = opts.command.slice(1).some((arg) => relativePath(arg) && existsSync(resolve(here, arg)) && !existsSync(resolve(opts.workDir, arg)));
    if (misplaced) hints += ` (the daemon runs in ${opts.workDir}; use --work-dir DIR or an absolute path)`;
  }
  if (opts.stderrFile === undefined) {
    hints += ` (its error output went to /dev/null; ${opts.library ? 'set the stderrFile option' : 'add --stderr FILE'} to see it)`;
  }
  return hints;
}

/** An argument that reads as a relative path: not an option, not absolute, not empty. */
const relativePath = (arg: string): boolean => arg !== '' && !arg.startsWith('-') && !isAbsolute(arg);

/**
 * Ctrl-C or a TERM during the startup window: the subshell has written (or will write) the pid
 * file before the command runs, so whatever happens the daemon is tracked. Say so and leave.
 */
function onInterrupt(opts: ActionOptions, progress: ProgressLine | undefined): () => void {
  const names = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const handler = (signal: NodeJS.Signals) => {
    progress?.end();
    out('interrupted\n');
    warn(`start interrupted by ${signal}; check with: daemonocle status --pid-file ${opts.pidFile}`);
    process.exit(exitCodeFor(signal));
  };
  for (const n of names) process.on(n, handler);
  return () => {
    for (const n of names) process.removeListener(n, handler);
  };
}

/**
 * `, started as 'node a.js'` when the running daemon's command line (/proc/PID/cmdline) is not the
 * command asked for (a different program under the same name or pid file); else nothing. The
 * warning escapes it for the terminal.
 */
function startedAs(pid: number, requested: string[]): string {
  let running: string[];
  try {
    const raw = Buffer.from(readProcText(`/proc/${pid}/cmdline`), 'latin1').toString('utf8');
    running = raw.split('\0');
    if (running.at(-1) === '') running.pop();
  } catch {
    return '';
  }
  if (running.length === 0 || requested.length === 0 || sameCommand(requested, running)) return '';
  // A process that rewrote its argv (setproctitle) shows one string with spaces: shown as it is.
  return `, started as '${running.length === 1 ? running[0] : showCommand(running)}'`;
}
