// The foreground engine (`daemonocle run`), in tini's shape: configure, spawn, forward signals
// and reap while waiting, then exit the way the child did. Each step below is one function.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { isatty } from 'node:tty';
import { DaemonError, reason } from '../base/errors.js';
import { warn } from '../base/log.js';
import { isChildSubreaper, setChildSubreaper } from '../base/native.js';
import { exitCodeFor, FORWARDED } from '../base/signals.js';
import type { CommandSpec, Probe, Rewrite } from '../base/types.js';
import { resolveCommand } from './command.js';
import { recordInheritedSignals } from './inherited-signals.js';
import { forwardSignals, type Forwarding } from './forwarding.js';
import { followJobControl } from './job-control.js';
import { describeProbe, waitForProbes } from './probes.js';
import { newlineOn } from './ready-fd.js';
import { startReaping } from './reaper.js';
import { endLeftovers, withServiceMarker, wrapperService } from './leftovers.js';
import { spawnProcess } from './spawn.js';
import { bridgeSystemd, type SystemdBridge } from '../systemd/wrapper.js';

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
  /** READY=1 once the child wrote a newline to this fd (with the probes, once all say so). */
  readyFd: number | undefined;
  rewrite: Rewrite[];
}

/** How the wrapper ends: an exit code, or dying of the signal it had forwarded. */
export type ForegroundEnd = { exitCode: number } | { reraise: NodeJS.Signals };

export type Death = { code: number | null; signal: NodeJS.Signals | null };

/** What `run` sets up once, before its first child (with --restart too). */
export interface Foreground {
  command: string[];
  reaping: boolean;
  systemd: SystemdBridge;
  ownSession: boolean;
  forwarding: Forwarding;
  /** The command's service: the marker its processes inherit (src/process/service.ts). */
  service: ReturnType<typeof wrapperService>;
  /** The command's environment: systemd's part and the service marker. */
  env: NodeJS.ProcessEnv;
}

export function prepareForeground(spec: ForegroundSpec): Foreground {
  const command = checkCommand(spec);
  const reaping = becomeReaper(spec);
  const systemd = bridgeSystemd(spec.env, spec.notify, spec.credentials.uid);
  // With --signal-group the child leads a session and process group of its own, which gets the
  // signals. On a terminal it always does (as under dumb-init): the terminal's Ctrl-C then reaches
  // only the wrapper, which forwards it once, instead of reaching the child twice.
  const onTerminal = isatty(0);
  const ownSession = spec.signalGroup || onTerminal;
  const forwarding = forwardSignals({ ...spec, onTerminal, systemd });
  const service = wrapperService();
  return { command, reaping, systemd, ownSession, forwarding, service, env: withServiceMarker(systemd.childEnv, service) };
}

export async function runForeground(spec: ForegroundSpec): Promise<ForegroundEnd> {
  const { command, reaping, systemd, ownSession, forwarding, service, env } = prepareForeground(spec);
  let child;
  try {
    child = await spawnChild(spec, command, systemd, ownSession, env);
  } finally {
    if (child === undefined) forwarding.stop();
  }
  const pid = child.pid!;
  forwarding.attach(pid);
  const commandDir = leaveCallersDirectory(spec);
  const stopReaping = reaping ? startReaping((p) => p === pid) : () => {};
  // PID 1 cannot stop itself, and nobody would continue it: job control is left alone there.
  const stopFollowing = ownSession && process.pid !== 1 ? followJobControl(-pid) : () => {};
  const stopAnnouncing = announceReadiness(spec, child, systemd, commandDir);

  const death = await waitForExit(child, forwarding, spec.rewrite);
  stopAnnouncing();
  forwarding.stop();
  await endLeftovers(spec, service, pid);
  stopReaping();
  stopFollowing();
  await systemd.close();
  return exitStatus(death, forwarding.forwarded);
}

/** The command must exist and be runnable: the shell's and tini's 127 (not found) and 126 (engine/command.ts decides). */
function checkCommand(spec: ForegroundSpec): string[] {
  try {
    return resolveCommand(spec.argv, spec.env);
  } catch (err) {
    throw new DaemonError('command-unusable', (err as Error).message, { exitCode: err instanceof DaemonError ? err.exitCode : 126, cause: err });
  }
}

/**
 * As PID 1, or a child subreaper (with --subreaper, or because the parent set the bit before it
 * started us: it survives exec, and tini reaps then too), orphans are ours to reap.
 */
function becomeReaper(spec: ForegroundSpec): boolean {
  if (process.pid === 1 || isChildSubreaper()) return true;
  if (!spec.subreaper) return false;
  if (setChildSubreaper()) return true;
  warn('--subreaper: cannot become a child subreaper here; orphans go to init');
  return false;
}

export async function spawnChild(spec: ForegroundSpec, command: string[], systemd: SystemdBridge, ownSession: boolean, env: NodeJS.ProcessEnv = systemd.childEnv): Promise<ChildProcess> {
  let spawned;
  try {
    spawned = spawnProcess({
      argv: command,
      // LISTEN_PID must be the child's own pid: the exec chain's last link sets it.
      listenPid: systemd.needsListenPid,
      cwd: spec.cwd,
      env,
      stdin: 'inherit',
      stdoutFile: spec.stdoutFile,
      stderrFile: spec.stderrFile,
      otherwise: 'inherit',
      fds: [
        ...[...systemd.listenFds, ...spec.keepFds].map((fd) => [fd, fd] as const),
        ...(spec.readyFd === undefined ? [] : [[spec.readyFd, 'pipe'] as const]),
      ],
      credentials: spec.credentials,
      // Killed without forwarding (SIGKILL, the OOM killer), the wrapper still takes its command
      // along. As PID 1 the kernel ends the whole namespace anyway.
      parentDeathSignal: process.pid === 1 ? undefined : 'SIGTERM',
      detached: ownSession,
      umask: spec.umask,
      // What the wrapper was started with (nohup's HUP ignored, a mask), as tini hands it on.
      signals: recordInheritedSignals(),
    });
  } catch (err) {
    await systemd.close();
    throw err;
  }
  const spawnError = await spawned.started;
  if (spawnError || spawned.child.pid === undefined) {
    await systemd.close();
    const code = (spawnError as NodeJS.ErrnoException | undefined)?.code;
    throw new DaemonError('command-unusable', `Cannot run ${spec.argv[0]}: ${reason(spawnError)}`, {
      exitCode: code === 'ENOENT' ? 127 : 126,
    });
  }
  return spawned.child;
}

/**
 * Once the child runs, the wrapper moves to / (every path it uses was made absolute before), so
 * that it keeps no mount busy: the one the caller started from can be unmounted while the service
 * runs, as dumb-init does (tini stays where it was started). Returns the command's directory, where
 * the command probes run.
 */
export function leaveCallersDirectory(spec: ForegroundSpec): string {
  const commandDir = spec.cwd ?? process.cwd();
  try {
    process.chdir('/');
  } catch {
    // Cannot happen for /; staying put is harmless.
  }
  return commandDir;
}

/**
 * For systemd: READY=1 once the child wrote its newline to --ready-fd and every probe answered,
 * or (neither given) once the grace window passed. With --notify the child's own READY=1 is relayed.
 */
export function announceReadiness(spec: ForegroundSpec, child: ChildProcess, systemd: SystemdBridge, commandDir: string, readiness = { told: false }): () => void {
  if (spec.notify) return () => {};
  let over = false;
  const pid = child.pid!;
  // Under --restart: READY=1 for the first child that is ready; after that only STATUS= changes.
  const announce = (how: string) => {
    if (over) return;
    systemd.notify(`${readiness.told ? '' : 'READY=1\n'}STATUS=${spec.name} is running (PID ${pid})${how}`);
    readiness.told = true;
  };
  if (spec.probes.length === 0 && spec.readyFd === undefined) {
    const timer = setTimeout(() => announce(''), spec.grace * 1000);
    return () => {
      over = true;
      clearTimeout(timer);
    };
  }
  const probing = new AbortController();
  const waits = [...spec.probes.map(describeProbe), ...(spec.readyFd === undefined ? [] : [`a newline on fd ${spec.readyFd}`])].join(', ');
  systemd.notify(`STATUS=Waiting for ${waits}`);
  const conditions = [waitForProbes(spec.probes, systemd.childEnv, spec.credentials, probing.signal, undefined, commandDir)];
  if (spec.readyFd !== undefined) conditions.push(newlineOn(child.stdio[spec.readyFd] as Readable));
  void Promise.all(conditions).then((results) => results.every(Boolean) && announce(`, ${waits} ready`));
  return () => {
    over = true;
    probing.abort();
  };
}

export async function waitForExit(child: ChildProcess, forwarding: Forwarding, rewrite: Rewrite[]): Promise<Death> {
  const death = await new Promise<Death>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // systemd (KillMode=control-group) and `kill -TERM -PGID` signal the child and us at once: the
  // child's exit can be seen before our own handler has run. Give a pending handler that moment.
  const { signal } = death;
  const mayForward = new Set<string>([...FORWARDED, ...rewrite.flatMap((r) => (r.to === null ? [] : [r.to]))]);
  if (signal !== null && !forwarding.forwarded.has(signal) && mayForward.has(signal)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return death;
}

/**
 * The child's exit code; for a death by signal n, 128+n, or (not as PID 1) dying of the signal we
 * had forwarded ourselves, so a supervisor sees a clean signal death. PID 1 cannot die of a signal
 * it has no handler for.
 */
export function exitStatus({ code, signal }: Death, forwarded: ReadonlySet<NodeJS.Signals>): ForegroundEnd {
  if (code !== null) return { exitCode: code };
  if (process.pid !== 1 && signal !== null && forwarded.has(signal)) return { reraise: signal };
  return { exitCode: exitCodeFor(signal ?? 'SIGTERM') };
}
