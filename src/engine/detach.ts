// The detach engine: one Node boot (the caller), no Node launcher.
//
//   caller (subreaper) --spawn, setsid--> /bin/sh (session leader) --fork--> subshell --exec--> command
//
// The session leader forks and exits at once, so the daemon is in the new session but does not
// lead it (Stevens' double fork), and is re-parented to the caller, which is a child subreaper and
// can therefore waitpid() it for the exit status of an early death. The subshell writes the pid
// file atomically *before* exec'ing the command, so a caller killed at any moment (even SIGKILL)
// leaves a tracked daemon or none. When the caller exits the daemon moves on to init.
import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { DaemonError, reason } from '../errors.js';
import { isCloseOnExec, setChildSubreaper, setCloseOnExec, waitPidNoHang } from '../native.js';
import { isGone, readStat } from '../proc.js';
import { removePidFileIfOwn, type PidLock } from '../pidfile.js';
import { NotifyServer } from '../notify.js';
import { signalName } from '../signals.js';
import type { LaunchSpec, StartOutcome } from './launch-spec.js';
import { resolveCommand } from './command.js';
import { withCredentials } from './credentials.js';
import { waitForProbes } from './probes.js';

/** Exit code of the subshell when it could not write the pid file (the command never ran). */
const PIDFILE_FAILED = 125;
const STARTUP_STDERR_LIMIT = 64 * 1024;

// $1 pid file, $2 umask, then the final argv. @P@ is the pid pipe, @L@ closes the lock fd (or is
// empty), @KEEP@ lists the fds the command may inherit. /proc/self inside the subshell's own
// redirection is the subshell itself, whose pid the command keeps across exec. The start time is
// field 22 of /proc/PID/stat: the 20th word after the last ')'.
// Every other fd is closed before exec: the caller marks inherited fds close-on-exec, but a thread
// of Node's own may open a file without O_CLOEXEC at any moment (Node 24 reads
// NODE_EXTRA_CA_CERTS that way at startup), and only the child can close such a leak for sure.
// dash cannot name fds above 9; bash (used when present) can.
const SESSION_LEADER_SCRIPT = `pidfile=$1; umask "$2"; shift 2
(
  read -r stat < /proc/self/stat || exit ${PIDFILE_FAILED}
  pid=\${stat%% *}
  starttime() { shift 19; starttime=$1; }
  starttime \${stat##*)}
  set -C
  tmp="$pidfile.$pid.tmp"
  if ! { printf '%s\\n%s\\n' "$pid" "$starttime" > "$tmp" && mv -f "$tmp" "$pidfile"; } 2>/dev/null; then
    rm -f "$tmp"
    echo "daemonocle: cannot write pid file $pidfile" >&2
    exit ${PIDFILE_FAILED}
  fi
  for fd in /proc/self/fd/*; do
    fd=\${fd##*/}
    case " 0 1 2 @P@ @KEEP@ " in *" $fd "*) continue ;; esac
    case $fd in [3-9]) ;; *) [ -n "$BASH_VERSION" ] || continue ;; esac
    eval "exec $fd>&-"
  done
  trap '' PIPE
  echo "$pid" >&@P@
  exec @P@>&- @L@ "$@"
) &
`;

/** bash in POSIX mode (no BASH_ENV) when present, for closing fds above 9; else the system sh. */
const SESSION_SHELL = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p));
const SHELL_ARGV = SESSION_SHELL ? [SESSION_SHELL, '--posix'] : ['/bin/sh'];

const ENV_BIN = ['/usr/bin/env', '/bin/env'].find((p) => existsSync(p)) ?? 'env';
/** The argv the subshell execs: signal dispositions reset (sh's `&` ignores INT and QUIT), then privileges dropped. */
function finalArgv(spec: LaunchSpec, command: string[]): string[] {
  return [ENV_BIN, '--default-signal', ...withCredentials(command, spec.credentials)];
}

interface OutputFiles {
  stdoutFd: number | 'ignore';
  stderrFd: number | 'ignore';
  stderrOffset: number;
  close(): void;
}

function openOutputs(spec: LaunchSpec): OutputFiles {
  const opened = new Map<string, number>();
  const open = (option: string, path: string | undefined): number | 'ignore' => {
    if (path === undefined) return 'ignore';
    const existing = opened.get(path);
    if (existing !== undefined) return existing;
    try {
      const fd = openSync(path, 'a', 0o644);
      opened.set(path, fd);
      return fd;
    } catch (err) {
      for (const fd of opened.values()) closeSync(fd);
      throw new DaemonError('output-unwritable', `Cannot open ${option} file ${path}: ${reason(err)}`, { cause: err });
    }
  };
  const stdoutFd = open('--stdout', spec.stdoutFile);
  const stderrFd = open('--stderr', spec.stderrFile);
  return {
    stdoutFd,
    stderrFd,
    stderrOffset: stderrFd === 'ignore' ? 0 : fstatSync(stderrFd).size,
    close: () => {
      for (const fd of opened.values()) closeSync(fd);
    },
  };
}

/** What the daemon wrote to its --stderr file during startup (the tail, when it wrote a lot). */
function startupStderr(path: string | undefined, offset: number): string {
  if (path === undefined) return '';
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const from = Math.max(offset, size - STARTUP_STDERR_LIMIT);
      const buf = Buffer.alloc(Math.max(0, size - from));
      const n = readSync(fd, buf, 0, buf.length, from);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** fds inherited without close-on-exec would leak into every child: mark all but the kept ones. */
function sealInheritedFds(keep: number[]): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return;
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (fd > 2 && !keep.includes(fd) && isCloseOnExec(fd) === false) setCloseOnExec(fd);
  }
}

/** Two fds in 3..9 (the shell's redirection range) not taken by --keep-fds. */
function helperFds(keep: number[]): [number, number] {
  const free = [9, 8, 7, 6, 5, 4, 3].filter((fd) => !keep.includes(fd));
  if (free.length < 2) throw new DaemonError('usage', '--keep-fds may use at most five of the fds 3-9', { exitCode: 2 });
  return [free[0]!, free[1]!];
}

/**
 * Launches spec.argv as a daemon and waits for its startup check. The pid file is written by the
 * session leader's subshell; on a failed start it is removed again.
 */
export async function launchDetached(spec: LaunchSpec, lock: PidLock | undefined): Promise<StartOutcome> {
  const command = resolveCommand(spec.argv, spec.env);
  const argv = finalArgv(spec, command);
  const [pipeFd, lockFd] = helperFds(spec.keepFds);
  const outputs = openOutputs(spec);
  const notify = openNotify(spec);
  const env = notify ? { ...spec.env, NOTIFY_SOCKET: notify.server.address } : spec.env;
  const subreaping = setChildSubreaper();
  sealInheritedFds(spec.keepFds);

  const stdio: StdioOptions = ['ignore', outputs.stdoutFd, outputs.stderrFd];
  const highest = Math.max(pipeFd, lockFd, ...spec.keepFds);
  for (let fd = 3; fd <= highest; fd++) stdio.push('ignore');
  stdio[pipeFd] = 'pipe';
  if (lock) stdio[lockFd] = lock.fd;
  for (const fd of spec.keepFds) stdio[fd] = fd;

  const script = SESSION_LEADER_SCRIPT.replaceAll('@P@', String(pipeFd))
    .replace('@L@', lock ? `${lockFd}>&-` : '')
    .replace('@KEEP@', [...(lock ? [lockFd] : []), ...spec.keepFds].join(' '));
  const [shell, ...shellArgs] = SHELL_ARGV as [string, ...string[]];
  const leader = spawn(shell, [...shellArgs, '-c', script, 'daemonocle', spec.pidFile, spec.umask.toString(8).padStart(3, '0'), ...argv], {
    cwd: spec.cwd,
    env,
    detached: true,
    stdio,
  });
  outputs.close();

  const failed = (pid: number | undefined, message: string): StartOutcome => {
    if (pid !== undefined) removePidFileIfOwn(spec.pidFile, pid);
    return { ok: false, pid, message, startupStderr: startupStderr(spec.stderrFile, outputs.stderrOffset) };
  };

  try {
    const leaderExit = new Promise<void>((resolve) => {
      leader.once('exit', () => resolve());
      leader.once('error', () => resolve());
    });
    const pid = await readPid(leader.stdio[pipeFd] as NodeJS.ReadableStream | null);
    if (pid === undefined) {
      const spawnError = await Promise.race([
        new Promise<Error>((resolve) => leader.once('error', resolve)),
        leaderExit.then(() => undefined),
      ]);
      if (spawnError) return failed(undefined, `Cannot start ${spec.name}: ${reason(spawnError)}`);
      // The subshell either failed to write the pid file or died before reporting.
      return failed(undefined, `Cannot start ${spec.name}: could not write pid file ${spec.pidFile}`);
    }

    const r = spec.readiness;
    const windowMs = (r.kind === 'grace' ? r.seconds : r.timeoutSeconds) * 1000;
    const probing = new AbortController();
    const conditions: Promise<unknown>[] = [];
    if (notify) conditions.push(notify.ready);
    if (r.kind === 'wait' && r.probes.length > 0) conditions.push(waitForProbes(r.probes, spec.env, probing.signal));
    const ready = conditions.length > 0 ? Promise.all(conditions).then(() => undefined) : undefined;
    const result = await watchStartupWindow(pid, windowMs, subreaping, leaderExit, ready).finally(() => probing.abort());
    if (result === 'ready') return { ok: true, pid };
    if (result === 'window-over') {
      if (r.kind === 'grace') return { ok: true, pid };
      return {
        ok: false,
        pid,
        message:
          `${spec.name} timed out waiting for readiness after ${r.timeoutSeconds} s; ` +
          `it is left running as PID ${pid} (pid file ${spec.pidFile}); stop it with: daemonocle stop --pid-file ${spec.pidFile}`,
        startupStderr: startupStderr(spec.stderrFile, outputs.stderrOffset),
      };
    }
    return failed(pid, `${spec.name} ${result.death}`);
  } finally {
    await notify?.server.close();
  }
}

/** The notification socket a daemon may say READY=1 on, when the readiness rule listens for it. */
function openNotify(spec: LaunchSpec): { server: NotifyServer; ready: Promise<void> } | undefined {
  const r = spec.readiness;
  if (r.kind === 'grace' ? !r.readyEndsWindow : !r.notify) return undefined;
  const server = NotifyServer.open();
  if (typeof server === 'string') {
    if (r.kind === 'wait') throw new DaemonError('unsupported', `Cannot wait for READY=1: ${server}`);
    return undefined;
  }
  const ready = new Promise<void>((resolve) => server.listen((fields) => fields.READY === '1' && resolve()));
  return { server, ready };
}

function readPid(stream: NodeJS.ReadableStream | null): Promise<number | undefined> {
  if (!stream) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    const done = () => {
      const m = /^(\d+)\n/.exec(text);
      resolve(m ? Number(m[1]) : undefined);
    };
    stream.on('end', done);
    stream.on('error', done);
  });
}

type WindowResult = 'ready' | 'window-over' | { death: string };

/**
 * Watches the daemon until the window ends ('window-over'), it says READY=1 ('ready'), or it dies:
 * { death: "exited during startup with exit code N" | "was killed during startup by SIGNAME" }.
 */
function watchStartupWindow(
  pid: number,
  windowMs: number,
  subreaping: boolean,
  leaderExit: Promise<void>,
  ready: Promise<void> | undefined,
): Promise<WindowResult> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let poller: NodeJS.Timeout | undefined;
    const finish = (result: WindowResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poller);
      process.removeListener('SIGCHLD', check);
      resolve(result);
    };
    // A death description, 'alive', or 'unknown' (gone, but not our child to wait for).
    const probe = (): string => {
      if (subreaping) {
        const r = waitPidNoHang(pid);
        if (r.state === 'exited') return `exited during startup with exit code ${r.code}`;
        if (r.state === 'killed') return `was killed during startup by ${signalName(r.signal)}`;
        if (r.state === 'running') return 'alive';
      }
      return isGone(readStat(pid)) ? 'unknown' : 'alive';
    };
    function check(): void {
      const r = probe();
      if (r !== 'alive' && r !== 'unknown') finish({ death: r });
      else if (r === 'unknown' && !subreaping) finish({ death: 'exited during startup' });
    }
    process.on('SIGCHLD', check);
    if (!subreaping) poller = setInterval(check, 20);
    // READY=1 counts only from a daemon that is still alive when we look.
    ready?.then(() => {
      const r = probe();
      if (r === 'alive') finish('ready');
      else if (r !== 'unknown') finish({ death: r });
    });
    timer = setTimeout(async () => {
      // At the window's end, a daemon that died while the session leader still parented it is
      // handed to us only once the leader has exited.
      let r = probe();
      if (r === 'unknown') {
        await leaderExit;
        r = probe();
      }
      finish(r === 'alive' ? 'window-over' : { death: r === 'unknown' ? 'exited during startup' : r });
    }, windowMs);
    check();
  });
}
