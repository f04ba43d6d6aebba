// The one way this project starts a process: the detach engine's session leader, `run`'s child,
// the library's re-execution for a reload, and the readiness probes' commands all come through
// spawnProcess(). It opens the output files (appending), lays out stdio with the extra fds at
// their numbers, applies the umask, execs the command through the exec chain (exec-chain.ts:
// credentials, parent-death signal, signal state, LISTEN_PID), and reports the spawn's success or
// failure as one promise.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { optionError, reason } from '../base/errors.js';
import { clearNonBlocking } from '../base/native.js';
import { expectedOwners, ownersTrusted, walkDir, WalkError, type WalkedDir } from '../base/safe-path.js';
import type { Credentials } from '../base/types.js';
import { execChain, type ExecLinks } from './exec-chain.js';

/** What to spawn and how; the exec chain's links (ExecLinks) say what the command starts with. */
export interface SpawnRequest extends ExecLinks {
  argv: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  stdin: 'ignore' | 'inherit';
  /** Appended to; when undefined, `otherwise`. */
  stdoutFile?: string;
  stderrFile?: string;
  otherwise: 'ignore' | 'inherit';
  /** Extra fds at fixed numbers: one of the caller's fds, or a new pipe. Gaps are closed. */
  fds?: ReadonlyArray<readonly [number, number | 'pipe']>;
  /** Whose output files these are (trusted, and given the directories made): credentials by default. */
  outputsFor?: Credentials;
  /** A new session and process group (setsid). */
  detached?: boolean;
  umask?: number;
}

const NO_CHANGE: Credentials = { uid: undefined, gid: undefined, userName: undefined };

export interface Spawned {
  child: ChildProcess;
  /** Resolves once the process runs (undefined) or could not be started (the error). */
  started: Promise<Error | undefined>;
  /** Size of the --stderr file before the process could write to it. */
  stderrOffset: number;
  /**
   * The --stderr file (a regular one) open for reading: the very file the process writes to,
   * whatever its path names later. The caller closes it.
   */
  stderrReader: number | undefined;
}

/** A second, read-only open of the file behind fd (through /proc/self/fd: no path is looked up again). */
function reopenForReading(fd: number): number | undefined {
  try {
    return fstatSync(fd).isFile() ? openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK) : undefined;
  } catch {
    return undefined;
  }
}

interface Outputs {
  stdout: number | 'ignore' | 'inherit';
  stderr: number | 'ignore' | 'inherit';
  close(): void;
}

/** O_NONBLOCK: a FIFO nobody reads (one the --user planted) is an error, not a start that hangs. */
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;

/**
 * Opens an output file for appending as src/base/safe-path.ts walks paths: its directory (made when
 * missing, 0755, given to --user/--group) reached by fd from /, the file opened without following
 * a symlink another user could have planted, and refused when another user owns it. A symlink of
 * root's or the caller's own, in a directory only they can write, is followed: they chose it.
 */
function openOutputFile(path: string, option: OutputOption, creds: Credentials, shown = path, links = 0): number {
  const fail = (why: string, cause?: unknown) => optionError('output-unwritable', (o) => `Cannot open ${o(option)} file ${shown}: ${why}`, { cause });
  let dir: WalkedDir;
  try {
    dir = walkDir(dirname(path), { userUid: creds.uid }, { mode: 0o755, uid: creds.uid, gid: creds.gid });
  } catch (err) {
    if (err instanceof WalkError) throw fail(err.kind === 'untrusted' ? `${err.path}: ${err.why}; refusing to trust it` : err.why, err);
    throw err;
  }
  let fd: number;
  try {
    const name = basename(path);
    try {
      fd = openSync(dir.at(name), APPEND | constants.O_NOFOLLOW, 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ELOOP' && code !== 'EMLINK') throw fail(reason(err), err);
      const link = lstatSync(dir.at(name));
      if (dir.userControlled || !ownersTrusted({}).has(link.uid)) {
        throw fail(`it is a symbolic link owned by uid ${link.uid}; refusing to follow it`);
      }
      if (links >= MAX_LINKS) throw fail('too many levels of symbolic links');
      // Root's or the caller's own link: its target is walked like any path, not followed blindly.
      return openOutputFile(resolve(dir.path, readlinkSync(dir.at(name))), option, creds, shown, links + 1);
    }
  } finally {
    dir.close();
  }
  const st = fstatSync(fd);
  if (!ownersTrusted({ userUid: creds.uid }).has(st.uid) || st.isDirectory()) {
    closeSync(fd);
    throw fail(st.isDirectory() ? 'it is a directory' : `it is owned by uid ${st.uid}, ${expectedOwners({ userUid: creds.uid })}; refusing to trust it`);
  }
  // The daemon writes to it as its stdout: a pipe or a terminal must block as usual.
  if (!st.isFile()) clearNonBlocking(fd);
  return fd;
}

const MAX_LINKS = 40;

/** The options naming the output files, by key (the face words them: --stdout, or stdoutFile). */
type OutputOption = 'stdoutFile' | 'stderrFile';

function openOutputs(req: SpawnRequest): Outputs {
  const opened = new Map<string, number>();
  const open = (option: OutputOption, path: string | undefined): number | 'ignore' | 'inherit' => {
    if (path === undefined) return req.otherwise;
    const existing = opened.get(path);
    if (existing !== undefined) return existing;
    try {
      const fd = openOutputFile(path, option, req.outputsFor ?? req.credentials ?? NO_CHANGE);
      opened.set(path, fd);
      return fd;
    } catch (err) {
      for (const fd of opened.values()) closeSync(fd);
      throw err;
    }
  };
  const stdout = open('stdoutFile', req.stdoutFile);
  const stderr = open('stderrFile', req.stderrFile);
  return {
    stdout,
    stderr,
    close: () => {
      for (const fd of opened.values()) closeSync(fd);
    },
  };
}

function stdioOf(req: SpawnRequest, outputs: Outputs): StdioOptions {
  const stdio: StdioOptions = [req.stdin, outputs.stdout, outputs.stderr];
  for (const [at, what] of req.fds ?? []) stdio[at] = what;
  for (let i = 3; i < stdio.length; i++) stdio[i] ??= 'ignore';
  return stdio;
}

/** Spawns req.argv; throws only for an output file that cannot be opened (nothing is spawned then). */
export function spawnProcess(req: SpawnRequest): Spawned {
  const outputs = openOutputs(req);
  const stderrOffset = typeof outputs.stderr === 'number' ? fstatSync(outputs.stderr).size : 0;
  const stderrReader = typeof outputs.stderr === 'number' ? reopenForReading(outputs.stderr) : undefined;
  let child: ChildProcess;
  const previousUmask = req.umask === undefined ? undefined : process.umask(req.umask);
  try {
    // The parent-death signal is tied to the thread that forks: spawn() forks on the main thread.
    const argv = execChain(req.argv, req);
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: req.cwd,
      env: req.env,
      stdio: stdioOf(req, outputs),
      detached: req.detached ?? false,
    });
  } finally {
    if (previousUmask !== undefined) process.umask(previousUmask);
    outputs.close();
  }
  const started = new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  return { child, started, stderrOffset, stderrReader };
}
