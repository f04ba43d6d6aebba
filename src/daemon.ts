// The library: a script builds a Daemon with a worker and calls doAction(argv[2]) or cli().
// Node cannot fork, so a detached start re-runs the script (same execArgv, argv) through the
// detach engine with WORKER_ENV set; in that re-run, start/restart/run mean "be the daemon".
import { fstatSync } from 'node:fs';
import { DaemonError, EXIT, usageError } from './errors.js';
import { out, warn } from './log.js';
import { userFds } from './fds.js';
import { dropPrivileges } from './engine/credentials.js';
import { claimPidFile, writePidFile } from './pidfile.js';
import { placeOf } from './piddir.js';
import { readStat } from './proc.js';
import { assertUnix } from './platform.js';
import { reportError } from './report.js';
import type { ActionOptions } from './options.js';
import { resolveDaemonConfig, type DaemonConfig, type DaemonOptions, type Worker } from './library/config.js';
import { ORIGIN_CWD_ENV, REEXECUTED, RELOAD_ENV, WORKER_ENV, WorkerRuntime } from './library/runtime.js';
import { parseDaemonCli, daemonHelp, daemonUsage, type CustomAction } from './library/cli.js';

export type { DaemonOptions, ShutdownCallback, Worker } from './library/config.js';

const BUILT_IN = ['start', 'stop', 'restart', 'status', 'reload', 'run'] as const;

export class Daemon {
  private config: DaemonConfig;
  private readonly actions = new Map<string, CustomAction>();
  private runtime: WorkerRuntime | undefined;

  constructor(options: DaemonOptions = {}) {
    this.config = resolveDaemonConfig(options);
  }

  get name(): string {
    return this.config.name;
  }

  get pidFile(): string {
    return this.config.pidFile;
  }

  get worker(): Worker | undefined {
    return this.config.worker;
  }

  /** The worker may be set after construction (e.g. a method of an object that needs the daemon). */
  set worker(fn: Worker | undefined) {
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`Daemon option 'worker' must be a function, got ${typeof fn}`);
    this.config = { ...this.config, worker: fn };
  }

  /** Called by the worker once it is ready: ends the startup window, sends READY=1 under systemd. */
  ready(): void {
    this.runtime?.ready();
  }

  /** Restarts the running daemon in place (new process, same argv); only inside the daemon. */
  reload(): Promise<never> {
    if (this.runtime === undefined) {
      throw new DaemonError('unsupported', 'Daemon.reload() can only be called inside the running daemon');
    }
    return this.runtime.reload();
  }

  /** A custom action: fn gets the words after the action and returns the exit code (nothing = 0). */
  exposeAction(name: string, fn: CustomAction['fn'], help = ''): this {
    if (typeof name !== 'string' || !/^[a-z][\w-]*$/i.test(name)) throw new TypeError(`exposeAction: bad action name ${String(name)}`);
    if ((BUILT_IN as readonly string[]).includes(name)) throw new TypeError(`exposeAction: '${name}' is a built-in action`);
    if (typeof fn !== 'function') throw new TypeError(`exposeAction: '${name}' needs a function`);
    this.actions.set(name, { fn, help });
    return this;
  }

  /** Runs an action; resolves to its exit code after printing the same messages as the CLI. */
  async doAction(action: string, args: string[] = []): Promise<number> {
    if (this.isDaemonProcess() && (action === 'start' || action === 'restart' || action === 'run')) {
      return this.becomeDaemon();
    }
    const custom = this.actions.get(action);
    if (custom) return Number((await custom.fn(args)) ?? 0);
    try {
      assertUnix();
      switch (action) {
        case 'start':
          return await this.start();
        case 'run':
          return await this.startInFront();
        case 'restart':
          return await this.restart();
        case 'stop':
          return await (await import('./actions/stop.js')).stop(this.actionOptions());
        case 'status':
          return await (await import('./actions/status.js')).status(this.actionOptions());
        case 'reload':
          return await (await import('./actions/reload.js')).reload(this.actionOptions());
        default:
          throw usageError(`Unknown action '${action}'; valid actions: ${[...BUILT_IN, ...this.actions.keys()].join(', ')}`);
      }
    } catch (err) {
      if (err instanceof TypeError) throw err;
      return reportError(err, action, daemonUsage(this.config.name, this.actions));
    }
  }

  /** Parses argv (action + flags) and runs it; sets process.exitCode and resolves to it. */
  async cli(argv: string[] = process.argv.slice(2)): Promise<number> {
    let code: number;
    try {
      const parsed = parseDaemonCli(argv, this.actions);
      if (parsed.kind === 'help') {
        out(daemonHelp(this.config.name, this.actions));
        code = EXIT.ok;
      } else {
        const saved = this.config;
        this.config = { ...this.config, ...parsed.overrides };
        try {
          code = await this.doAction(parsed.action, parsed.args);
        } finally {
          if (this.runtime === undefined) this.config = saved;
        }
      }
    } catch (err) {
      if (err instanceof TypeError && !(err instanceof DaemonError)) {
        code = reportError(usageError(err.message), undefined, daemonUsage(this.config.name, this.actions));
      } else {
        code = reportError(err, undefined, daemonUsage(this.config.name, this.actions));
      }
    }
    process.exitCode = code;
    return code;
  }

  private isDaemonProcess(): boolean {
    return process.env[WORKER_ENV] === this.config.pidFile;
  }

  private requireWorker(): void {
    if (typeof this.config.worker !== 'function') throw new TypeError("Daemon option 'worker' must be a function to start, got undefined");
  }

  private shouldDetach(): boolean {
    const { detach } = this.config;
    if (detach !== 'auto') return detach;
    return !(process.pid === 1 || process.env.NOTIFY_SOCKET || stdinIsSocket());
  }

  private actionOptions(extra: Partial<ActionOptions> = {}): ActionOptions {
    const c = this.config;
    return {
      name: c.name,
      pidFile: c.pidFile,
      defaultPidFile: c.defaultPidFile,
      command: [],
      workDir: c.workDir,
      stdoutFile: c.stdoutFile,
      stderrFile: c.stderrFile,
      umask: c.umask,
      credentials: c.credentials,
      stopTimeout: c.stopTimeout,
      grace: c.grace,
      signalGroup: c.signalGroup,
      force: c.force,
      json: c.json,
      keepFds: c.keepFds,
      notify: c.notify,
      startTimeout: c.startTimeout,
      reloadSignal: c.reloadSignal,
      probes: c.probes,
      ...extra,
    };
  }

  /** Detached: re-run this script as the daemon through the detach engine. */
  private async start(): Promise<number> {
    this.requireWorker();
    if (!this.shouldDetach()) return this.startInFront();
    return (await import('./actions/start.js')).start(this.detachedOptions());
  }

  private async restart(): Promise<number> {
    this.requireWorker();
    if (!this.shouldDetach()) {
      const stopped = await (await import('./actions/stop.js')).stop(this.actionOptions());
      return stopped === EXIT.ok ? this.startInFront() : stopped;
    }
    return (await import('./actions/restart.js')).restart(this.detachedOptions());
  }

  private detachedOptions(): ActionOptions {
    const script = process.argv[1];
    if (script === undefined) throw new DaemonError('unsupported', 'A detached start needs a script file (process.argv[1])');
    const keepFds = this.config.closeOpenFiles ? this.config.keepFds : [...new Set([...this.config.keepFds, ...userFds()])];
    return this.actionOptions({
      command: [process.execPath, ...process.execArgv, script, ...process.argv.slice(2)],
      env: { ...process.env, [WORKER_ENV]: this.config.pidFile, [ORIGIN_CWD_ENV]: process.cwd() },
      readyEndsWindow: true,
      keepFds: keepFds.sort((a, b) => a - b),
    });
  }

  /** In the re-run process: the detach engine already made this process the daemon. */
  private async becomeDaemon(): Promise<never> {
    const env = process.env;
    const originCwd = env[ORIGIN_CWD_ENV] ?? '/';
    const reloadFrom = env[RELOAD_ENV];
    const notifySocket = env.NOTIFY_SOCKET;
    delete env[WORKER_ENV];
    delete env[ORIGIN_CWD_ENV];
    delete env[RELOAD_ENV];
    delete env.NOTIFY_SOCKET;
    this.runtime = new WorkerRuntime({ config: this.config, notifySocket, inFront: false, originCwd });
    if (reloadFrom !== undefined) await this.runtime.takeOverFrom(Number(reloadFrom));
    return this.runtime.run();
  }

  /** Foreground: this process is the daemon; pid file, then the worker in front. */
  private async startInFront(): Promise<number> {
    this.requireWorker();
    const c = this.config;
    // After reload() re-executed this process: same pid, so the pid file is already ours.
    const reexecuted = process.env[RELOAD_ENV] === REEXECUTED;
    delete process.env[RELOAD_ENV];
    if (reexecuted) {
      writePidFile(c.pidFile, process.pid, readStat(process.pid)!.startTime);
    } else {
      const claim = await claimPidFile(c.pidFile, placeOf(c));
      if (!claim.claimed) {
        warn(`${c.name} already running with PID ${claim.pid}`);
        return EXIT.ok;
      }
    }
    process.umask(c.umask);
    dropPrivileges(c.credentials);
    out(reexecuted ? `Reloading ${c.name} ... OK\n` : `Starting ${c.name} ... OK\n`);
    const notifySocket = process.env.NOTIFY_SOCKET;
    delete process.env.NOTIFY_SOCKET;
    this.runtime = new WorkerRuntime({ config: c, notifySocket, inFront: true, originCwd: process.cwd() });
    return this.runtime.run();
  }
}

function stdinIsSocket(): boolean {
  try {
    return fstatSync(0).isSocket();
  } catch {
    return false;
  }
}
