// The worker's side of a library daemon: runs the worker in this process, turns every way out into
// exactly one shutdown-callback call with the message and code docs/library.md gives ("The worker
// and the shutdown callback"), and reloads in place.
import { onExit } from 'signal-exit';
import { error, escapeForTerminal, out, warn } from '../base/log.js';
import { execInPlace, nativeUnavailableReason } from '../base/native.js';
import { activationFds, sdNotify, watchdogIntervalMs } from '../systemd/notify.js';
import { waitForProbes } from '../engine/probes.js';
import { spawnProcess } from '../engine/spawn.js';
import { PidFile } from '../pidfile/pidfile.js';
import { readStat } from '../process/proc.js';
import { waitGone } from '../process/stopping.js';
import { markerFor, ownServiceId, SERVICE_ENV } from '../process/service.js';
import { dieOf, exitCodeFor, signalNumber } from '../base/signals.js';
import type { DaemonConfig } from './config.js';
import { NEVER } from '../base/types.js';

export const WORKER_ENV = 'DAEMONOCLE_WORKER';
export const RELOAD_ENV = 'DAEMONOCLE_RELOAD';
export const ORIGIN_CWD_ENV = 'DAEMONOCLE_ORIGIN_CWD';
/** RELOAD_ENV's value in a process that re-executed itself in front. */
export const REEXECUTED = 'in-place';

/** This script's command line, to run it again: the runtime, its options, the script and its arguments. */
export const scriptArgv = (): string[] => [process.execPath, ...process.execArgv, ...process.argv.slice(1)];

/** Signals that end the worker with `Terminated by SIG (n)`, exit 128+n. */
const TERMINATING = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

interface RuntimeContext {
  config: DaemonConfig;
  /** Where READY=1 goes: the waiting `start` (detached) or systemd (foreground); undefined: nowhere. */
  notifySocket: string | undefined;
  /** Started in front (not the detached re-run): reload re-executes this same process. */
  inFront: boolean;
  /** Directory the script was first started from (argv may hold relative paths). */
  originCwd: string;
}

/**
 * Where the daemon is in its life; every change goes through transition():
 *   starting --ready()--> running
 *   starting|running --a way out--> stopping --> (exit)
 *   starting|running --reload() in front--> reexecuting --execve--> (a new image, same pid)
 *     (a stop signal meanwhile is remembered in `stopInstead`, and ends it after the callback)
 *   starting|running --reload() detached--> handed-over --> (exit; the pid file names the new process)
 */
type Phase =
  | { name: 'starting' }
  | { name: 'running' }
  | { name: 'stopping' }
  | { name: 'reexecuting'; stopInstead?: { exitCode: number; signal: NodeJS.Signals } }
  | { name: 'handed-over' };

const NEXT: Record<Phase['name'], readonly Phase['name'][]> = {
  starting: ['running', 'stopping', 'reexecuting', 'handed-over'],
  running: ['stopping', 'reexecuting', 'handed-over'],
  reexecuting: [],
  stopping: [],
  'handed-over': [],
};

export class WorkerRuntime {
  private phase: Phase = { name: 'starting' };
  private readonly keepAlive = setInterval(() => {}, 1 << 30);
  private ownHupListeners = new Set<unknown>();

  /**
   * In front with a notify socket, which can then only be systemd's: READY=1 at the window's end,
   * STOPPING=1, RELOADING=1, the watchdog, a clean signal death.
   */
  private readonly underSystemd: boolean;
  private readonly pidFile: PidFile;

  constructor(private readonly ctx: RuntimeContext) {
    this.underSystemd = ctx.inFront && ctx.notifySocket !== undefined;
    this.pidFile = PidFile.of(ctx.config);
  }

  /** Moves to `to` when the phase allows it; false when the daemon is already on another way. */
  private transition(to: Phase): boolean {
    if (!NEXT[this.phase.name].includes(to.name)) return false;
    this.phase = to;
    return true;
  }

  private get leaving(): boolean {
    return this.phase.name !== 'starting' && this.phase.name !== 'running';
  }

  ready(): void {
    if (this.transition({ name: 'running' }) && this.ctx.notifySocket) sdNotify('READY=1', this.ctx.notifySocket);
  }

  /** Runs the worker until it ends or a signal ends it; the process exits from here. */
  async run(): Promise<never> {
    const { config } = this.ctx;
    this.installHandlers();
    if (this.underSystemd && !config.notify) {
      // In front: this process already runs as uid/gid, with their environment (dropPrivileges).
      if (config.probes.length > 0) {
        void waitForProbes(config.probes, process.env, undefined, new AbortController().signal).then((ok) => ok && this.ready());
      } else {
        setTimeout(() => this.ready(), config.grace * 1000).unref();
      }
    }
    // systemd's WatchdogSec=: fed from the worker's own event loop, so a loop that hangs stops
    // the pings and systemd acts on it.
    const watchdogMs = this.underSystemd ? watchdogIntervalMs() : undefined;
    if (watchdogMs !== undefined) setInterval(() => sdNotify('WATCHDOG=1', this.ctx.notifySocket), watchdogMs).unref();
    try {
      await config.worker!();
    } catch (err) {
      return this.die(err);
    }
    return this.shutdown('Shutting down normally', 0, 0);
  }

  private installHandlers(): void {
    for (const sig of TERMINATING) {
      process.on(sig, () => {
        const n = signalNumber(sig)!;
        void this.shutdown(`Terminated by ${sig} (${n})`, -n, exitCodeFor(sig), sig);
      });
    }
    process.on('SIGHUP', () => {
      // A HUP listener of the user's own (not ours, not signal-exit's) means the user handles HUP.
      if (process.listeners('SIGHUP').some((l) => !this.ownHupListeners.has(l))) return;
      if (process.pid === 1) {
        warn('SIGHUP ignored: reloading as PID 1 would end the container');
        return;
      }
      void this.reload();
    });
    process.on('uncaughtException', (err) => void this.die(err));
    process.on('unhandledRejection', (err) => void this.die(err));
    // process.exit(N) and other fatal signals: the callback runs synchronously here.
    onExit((code, signal) => {
      if (!this.transition({ name: 'stopping' })) return;
      const n = signal ? signalNumber(signal) ?? 0 : 0;
      const [message, cbCode] = signal
        ? [`Terminated by ${signal} (${n})`, -n]
        : code === 0 || code === null
          ? ['Shutting down normally', 0]
          : [`Exiting with non-zero exit code ${code}`, code ?? 0];
      this.callCallbackSync(message, cbCode);
      this.releasePidFile();
    });
    this.ownHupListeners = new Set(process.listeners('SIGHUP'));
  }

  private die(err: unknown): Promise<never> {
    const name = err instanceof Error ? (err.constructor?.name ?? err.name) : typeof err;
    const message = err instanceof Error ? err.message : String(err);
    if (!this.leaving) process.stderr.write(`${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    return this.shutdown(`Dying due to unhandled ${name}: ${message}`, 1, 1);
  }

  /** The one exit path: callback once (awaited), pid file released, exit. */
  async shutdown(message: string, code: number, exitCode: number, signal?: NodeJS.Signals): Promise<never> {
    if (!this.transition({ name: 'stopping' })) {
      // A stop while re-executing for a reload: end there instead of starting the new image.
      if (this.phase.name === 'reexecuting' && signal !== undefined) this.phase.stopInstead ??= { exitCode, signal };
      return NEVER;
    }
    return this.leave(message, code, exitCode, signal);
  }

  /** Callback once (awaited), pid file released, exit: the end of every phase but reexecuting. */
  private async leave(message: string, code: number, exitCode: number, signal?: NodeJS.Signals): Promise<never> {
    if (this.underSystemd) sdNotify('STOPPING=1', this.ctx.notifySocket);
    await this.callCallback(message, code);
    return this.exit(exitCode, signal);
  }

  private exit(exitCode: number, signal: NodeJS.Signals | undefined): never {
    this.releasePidFile();
    clearInterval(this.keepAlive);
    // Under systemd, `systemctl stop` must end in a clean signal death, not exit code 143. QUIT
    // would dump core, and PID 1 cannot die of a signal: those exit 128+n everywhere.
    if (signal !== undefined && signal !== 'SIGQUIT' && this.underSystemd && process.pid !== 1) dieOf(signal);
    process.exit(exitCode);
  }

  private async callCallback(message: string, code: number): Promise<void> {
    try {
      await this.ctx.config.shutdownCallback?.(message, code);
    } catch (err) {
      error(`shutdown callback failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private callCallbackSync(message: string, code: number): void {
    try {
      const r = this.ctx.config.shutdownCallback?.(message, code) as unknown;
      if (r instanceof Promise) r.catch(() => {});
    } catch (err) {
      error(`shutdown callback failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private releasePidFile(): void {
    if (this.phase.name !== 'handed-over') this.pidFile.removeIfOwn(process.pid);
  }

  /** Restart in place, the same argv and env; this process ends with `Shutting down for reload`. */
  async reload(): Promise<never> {
    if (process.pid === 1) {
      warn('reload ignored: as PID 1, leaving would end the container');
      return NEVER;
    }
    // Without native calls (not Linux, or koffi missing) there is no execve: hand over instead. A
    // detached daemon hands over to a new process, which must rewrite the pid file; one that cannot
    // (dropped to uid, its pid file in root's directory: the default /run/daemonocle) re-executes
    // in place instead, keeping its pid, so the pid file root wrote stays true.
    const mayRewrite = this.pidFile.mayRewrite();
    if (nativeUnavailableReason() === undefined && (this.ctx.inFront || !mayRewrite)) return this.reexecute();
    if (!mayRewrite) {
      error(`Cannot reload ${this.ctx.config.name}: it cannot rewrite its pid file ${this.ctx.config.pidFile}, and cannot re-execute in place (${nativeUnavailableReason()}); it keeps running`);
      return NEVER;
    }
    return this.handOver();
  }

  /**
   * Detached: a new process starts and the pid file names it at once (status never sees a gap);
   * it waits for this one to exit before its worker runs.
   */
  private async handOver(): Promise<never> {
    if (this.leaving) return NEVER;
    const { config } = this.ctx;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [WORKER_ENV]: config.pidFile,
      [RELOAD_ENV]: String(process.pid),
      [ORIGIN_CWD_ENV]: this.ctx.originCwd,
    };
    const { child, started } = spawnProcess({
      argv: scriptArgv(),
      cwd: this.ctx.originCwd,
      env,
      stdin: 'inherit',
      otherwise: 'inherit',
      fds: config.keepFds.map((fd) => [fd, fd] as const),
    });
    const spawnError = await started;
    const st = child.pid !== undefined ? readStat(child.pid) : null;
    if (spawnError || child.pid === undefined || st === null) {
      error(`reload of ${config.name} failed: could not start a new process`);
      return NEVER;
    }
    if (!this.transition({ name: 'handed-over' })) return NEVER;
    child.unref();
    this.pidFile.write(child.pid, st.startTime);
    return this.leave('Shutting down for reload', 0, 0);
  }

  /**
   * In front (a terminal, systemd, a container): the process re-executes itself, keeping its pid,
   * so the pid file, the shell's job and systemd's MainPID stay true. (A new process would be this
   * one's child: systemd 252 supervises such a MainPID as "not our child" and, unable to wait for
   * it, SIGKILLs it at the next stop.)
   */
  private async reexecute(): Promise<never> {
    const phase: Phase = { name: 'reexecuting' };
    if (!this.transition(phase)) return NEVER;
    const { config } = this.ctx;
    if (this.underSystemd) {
      sdNotify(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, this.ctx.notifySocket);
    }
    await this.callCallback('Shutting down for reload', 0);
    if (phase.stopInstead) return this.exit(phase.stopInstead.exitCode, phase.stopInstead.signal);
    const env: NodeJS.ProcessEnv = { ...process.env, [RELOAD_ENV]: REEXECUTED };
    if (this.ctx.inFront) {
      if (this.ctx.notifySocket !== undefined) env.NOTIFY_SOCKET = this.ctx.notifySocket;
    } else {
      // Detached: the new image is the daemon again, with the caller's pid file (the start's
      // notify socket is long gone).
      env[WORKER_ENV] = config.pidFile;
      env[ORIGIN_CWD_ENV] = this.ctx.originCwd;
    }
    try {
      process.chdir(this.ctx.originCwd);
    } catch {
      // Relative paths in argv may then fail; execve reports it below.
    }
    const failure = execInPlace(process.execPath, scriptArgv(), env, [...config.keepFds, ...activationFdsOrNone()]);
    error(`Reloading ${config.name} failed: ${failure}`);
    this.releasePidFile();
    process.exit(1);
  }

  /** In the new process of a reload: wait for the old one, then hold the pid file. */
  async takeOverFrom(oldPid: number): Promise<void> {
    const { config } = this.ctx;
    const gone = (await waitGone([oldPid], config.stopTimeout * 1000)).length === 0;
    const self = readStat(process.pid)!;
    if (!gone) {
      out(`Reloading ${escapeForTerminal(config.name)} ... FAILED\n`);
      const message = `Previous process (PID ${oldPid}) did not exit during reload`;
      error(message);
      // The old process still runs: the pid file goes back to naming it, so nothing is untracked.
      const old = readStat(oldPid);
      if (old !== null) this.pidFile.write(oldPid, old.startTime);
      this.transition({ name: 'handed-over' });
      this.callCallbackSync(message, 1);
      process.exit(1);
    }
    this.pidFile.write(process.pid, self.startTime);
    markThisService();
    out(`Reloading ${escapeForTerminal(config.name)} ... OK\n`);
  }
}

/** The socket-activation fds a reload hands on; a LISTEN_FDS naming closed fds hands on none (execve keeps only open ones anyway). */
function activationFdsOrNone(): number[] {
  try {
    return activationFds();
  } catch {
    return [];
  }
}

/**
 * This process is the daemon the pid file names: what it spawns from now on carries its service's
 * marker (src/process/service.ts), so `stop` finds it even once it left the session.
 */
export function markThisService(): void {
  const id = ownServiceId();
  if (id !== undefined) process.env[SERVICE_ENV] = markerFor(id, process.env[SERVICE_ENV]);
}
