// The foreground engine (`daemonocle run`), shaped like tini: a straight line of steps (check the
// command, become a subreaper if asked, take the pid file, spawn), then one event loop that
// forwards signals, reaps orphans, and exits the way the child did.
import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { DaemonError, reason } from '../errors.js';
import { warn } from '../log.js';
import { setChildSubreaper } from '../native.js';
import { FORWARDED, FROM_TERMINAL, signalNumber, STOPPING } from '../signals.js';
import { resolveCommand } from './command.js';
import { withCredentials } from './credentials.js';
import type { CommandSpec } from './launch-spec.js';
import { followJobControl } from './job-control.js';
import { startReaping } from './reaper.js';
import { bridgeSystemd } from './systemd.js';
import { describeProbe, type Probe } from './probe-spec.js';
import { waitForProbes } from './probes.js';

export interface ForegroundSpec extends CommandSpec {
  signalGroup: boolean;
  stopTimeout: number;
  subreaper: boolean;
  /** Under systemd: READY=1 once the child survived this many seconds (without `notify`). */
  grace: number;
  /** The child reports READY=1 itself through the relayed notify socket. */
  notify: boolean;
  /** Without notify: READY=1 once every probe succeeded (instead of the grace window). */
  probes: Probe[];
}

/** How the wrapper ends: an exit code, or dying of the signal it had forwarded. */
export type ForegroundEnd = { exitCode: number } | { reraise: NodeJS.Signals };

export async function runForeground(spec: ForegroundSpec): Promise<ForegroundEnd> {
  let command: string[];
  try {
    command = resolveCommand(spec.argv, spec.env);
  } catch (err) {
    // The shell's and tini's convention: 127 not found, 126 found but not runnable.
    const notFound = err instanceof DaemonError && /not found|no such file/.test(err.message);
    throw new DaemonError('command-unusable', (err as Error).message, { exitCode: notFound ? 127 : 126, cause: err });
  }
  const argv = withCredentials(command, spec.credentials);
  const isInit = process.pid === 1;
  const reaping = isInit || (spec.subreaper && setChildSubreaper());
  if (spec.subreaper && !reaping) warn('--subreaper: cannot become a child subreaper here; orphans go to init');

  const opened: number[] = [];
  const output = (option: string, path: string | undefined): number | 'inherit' => {
    if (path === undefined) return 'inherit';
    try {
      const fd = openSync(path, 'a', 0o644);
      opened.push(fd);
      return fd;
    } catch (err) {
      throw new DaemonError('output-unwritable', `Cannot open ${option} file ${path}: ${reason(err)}`, { cause: err });
    }
  };
  const systemd = bridgeSystemd(spec.env, spec.notify);
  const stdio: StdioOptions = ['inherit', output('--stdout', spec.stdoutFile), output('--stderr', spec.stderrFile)];
  for (const fd of [...systemd.listenFds, ...spec.keepFds]) stdio[fd] = fd;
  // LISTEN_PID must be the child's own pid: a shell learns it ($$) and execs the command in place.
  const finalArgv = systemd.needsListenPid ? ['/bin/sh', '-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'sh', ...argv] : argv;
  for (let i = 3; i < stdio.length; i++) stdio[i] ??= 'ignore';

  // With --signal-group the child leads a session and process group of its own, which gets the
  // signals. On a terminal it always does (as under dumb-init): the terminal's Ctrl-C then reaches
  // only the wrapper, which forwards it once, instead of reaching the child twice.
  const onTerminal = isatty(0);
  const ownSession = spec.signalGroup || onTerminal;
  const previousUmask = process.umask(spec.umask);
  const child = spawn(finalArgv[0]!, finalArgv.slice(1), {
    cwd: spec.cwd,
    env: systemd.childEnv,
    stdio,
    detached: ownSession,
    argv0: systemd.needsListenPid ? 'sh' : command[0],
  });
  process.umask(previousUmask);
  for (const fd of opened) closeSync(fd);

  const pid = child.pid;
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawnError || pid === undefined) {
    await systemd.close();
    const code = (spawnError as NodeJS.ErrnoException | undefined)?.code;
    throw new DaemonError('command-unusable', `Cannot run ${spec.argv[0]}: ${reason(spawnError)}`, {
      exitCode: code === 'ENOENT' ? 127 : 126,
    });
  }

  // The forwarding path does nothing but kill(): no awaits, no logging first.
  // What a terminal sends to its whole foreground job still reaches CMD's whole group.
  const targetOf = (sig: string) => (spec.signalGroup || (onTerminal && FROM_TERMINAL.has(sig)) ? -pid : pid);
  const forwarded = new Set<NodeJS.Signals>();
  let stopTimer: NodeJS.Timeout | undefined;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of FORWARDED) {
    const handler = () => {
      try {
        process.kill(targetOf(sig), sig);
      } catch {
        // The child is already gone; its exit is on its way.
      }
      forwarded.add(sig);
      if (STOPPING.has(sig)) {
        systemd.notify(`STOPPING=1\nSTATUS=Stopping ${spec.name}: ${sig} sent to PID ${pid}`);
        if (stopTimer === undefined && spec.stopTimeout >= 0) {
          stopTimer = setTimeout(() => {
            warn(`${spec.name} (PID ${pid}) did not exit ${spec.stopTimeout} s after ${sig}; still waiting (no SIGKILL is sent)`);
          }, spec.stopTimeout * 1000);
        }
      }
    };
    handlers.set(sig, handler);
    process.on(sig, handler);
  }
  const stopReaping = reaping ? startReaping((p) => p === pid) : () => {};
  // PID 1 cannot stop itself, and nobody would continue it: job control is left alone there.
  const stopFollowing = ownSession && !isInit ? followJobControl(-pid) : () => {};

  // Readiness for systemd: the child's own READY=1 (relayed), or surviving the grace window.
  let exited = false;
  let readyTimer: NodeJS.Timeout | undefined;
  const probing = new AbortController();
  const announceReady = (how: string) => {
    if (!exited) systemd.notify(`READY=1\nSTATUS=${spec.name} is running (PID ${pid})${how}`);
  };
  if (!spec.notify && spec.probes.length > 0) {
    const probes = spec.probes.map(describeProbe).join(', ');
    systemd.notify(`STATUS=Waiting for ${probes}`);
    void waitForProbes(spec.probes, systemd.childEnv, probing.signal).then((ok) => ok && announceReady(`, ${probes} ready`));
  } else if (!spec.notify) {
    readyTimer = setTimeout(() => announceReady(''), spec.grace * 1000);
  }

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('exit', (c, s) => resolve([c, s]));
  });
  // systemd (KillMode=control-group) and `kill -TERM -PGID` signal the child and us at once: the
  // child's exit can be seen before our own handler has run. Give a pending handler that moment.
  if (signal !== null && !forwarded.has(signal) && (FORWARDED as readonly string[]).includes(signal)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  exited = true;
  probing.abort();
  clearTimeout(stopTimer);
  clearTimeout(readyTimer);
  stopReaping();
  stopFollowing();
  await systemd.close();
  for (const [sig, handler] of handlers) process.removeListener(sig, handler);

  if (code !== null) return { exitCode: code };
  const n = signalNumber(signal ?? 'SIGTERM') ?? 15;
  // Dying of the forwarded signal ourselves lets a supervisor see a clean signal death. PID 1
  // cannot die of a signal it has no handler for, so it exits 128+n.
  if (!isInit && signal !== null && forwarded.has(signal)) return { reraise: signal };
  return { exitCode: 128 + n };
}
