// The library: a script builds a Daemon with a worker and calls doAction(argv[2]) or cli().
// Node cannot fork, so a detached start re-runs the script (same execArgv, argv) through the
// detach engine with WORKER_ENV set; in that re-run, start/restart/run mean "be the daemon".
import { fstatSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { DaemonError, EXIT, usageError } from '../base/errors.js';
import { escapeForTerminal, out, warn } from '../base/log.js';
import { userFds } from './kept-fds.js';
import { credentialsForCaller, dropPrivileges } from '../engine/credentials.js';
import { PidFile } from '../pidfile/pidfile.js';
import { defaultPidFile } from '../options/values.js';
import { readStat } from '../process/proc.js';
import { assertSupportedPlatform } from '../base/platform.js';
import { reportError } from '../base/report.js';
import { launches, LIBRARY_ACTIONS, type LibraryAction } from '../options/action-table.js';
import type { ActionOptions, Values } from '../options/resolve.js';
import { checkDaemonOptions, daemonConfig, type DaemonConfig, type DaemonOptions, type Worker } from './config.js';
import { markThisService, ORIGIN_CWD_ENV, REEXECUTED, RELOAD_ENV, scriptArgv, WORKER_ENV, WorkerRuntime } from './runtime.js';
import { parseBuiltInFlags, parseDaemonCli, daemonHelp, daemonUsage, type CustomAction } from './daemon-cli.js';

export type { DaemonOptions, ShutdownCallback, Worker } from './config.js';

const BUILT_IN = LIBRARY_ACTIONS;

/** The built-in actions doAction() runs: 'start' | 'stop' | 'restart' | 'status' | 'reload' | 'run'. */
export type Action = LibraryAction;

/**
 * `Custom` names the actions added with exposeAction(): exposeAction('hello', fn) returns the same
 * Daemon typed Daemon<'hello'>, or declare them up front with `new Daemon<'hello'>(...)`.
 */
export class Daemon<Custom extends string = never> {
  private values: Values;
  private config: DaemonConfig;
  private readonly actions = new Map<string, CustomAction>();
  private runtime: WorkerRuntime | undefined;

  /**
   * Where relative paths (pidFile, stdoutFile, workDir, --pid-file...) are resolved: the caller's
   * cwd. The detached daemon re-runs this script in its work dir (`/`), so there it is the cwd of
   * the start that launched it: both processes resolve every path to the same file.
   */
  private readonly base = callerCwd();

  constructor(options: DaemonOptions = {}) {
    this.values = checkDaemonOptions(options, this.base);
    this.config = daemonConfig(this.values);
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
    this.values = { ...this.values, worker: fn };
    this.config = daemonConfig(this.values);
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
  exposeAction<Name extends string>(name: Name, fn: CustomAction['fn'], help = ''): Daemon<Custom | Name> {
    if (typeof name !== 'string' || !/^[a-z][\w-]*$/i.test(name)) throw new TypeError(`exposeAction: bad action name ${String(name)}`);
    if ((BUILT_IN as readonly string[]).includes(name)) throw new TypeError(`exposeAction: '${name}' is a built-in action`);
    if (typeof fn !== 'function') throw new TypeError(`exposeAction: '${name}' needs a function`);
    this.actions.set(name, { fn, help });
    return this as Daemon<Custom | Name>;
  }

  /**
   * Runs an action; resolves to its exit code after printing the same messages as the CLI. A
   * custom action gets `args`; a built-in one takes them as cli()'s flags (['--tree'], ['--json']).
   * A literal must name an action (`doAction('stat')` does not compile); a string known only at run
   * time (`process.argv[2] ?? 'status'`) is checked then: an unknown one is a usage error, exit 2.
   */
  async doAction<A extends string>(action: string extends A ? A : Action | Custom, args: string[] = []): Promise<number> {
    if (args.length === 0 || !(BUILT_IN as readonly string[]).includes(action)) return this.perform(action, args, this.config);
    let overrides: Values | 'help';
    try {
      overrides = parseBuiltInFlags(action, args, this.base);
    } catch (err) {
      return reportError(err, action, daemonUsage(this.config.name, this.actions));
    }
    if (overrides === 'help') {
      out(daemonHelp(this.config.name, this.actions));
      return EXIT.ok;
    }
    return this.perform(action, [], daemonConfig(this.values, overrides));
  }

  /** Parses argv (action + flags) and runs it; sets process.exitCode and resolves to it. */
  async cli(argv: string[] = process.argv.slice(2)): Promise<number> {
    let code: number;
    const usage = daemonUsage(this.config.name, this.actions);
    try {
      const parsed = parseDaemonCli(argv, this.actions, this.base);
      if (parsed.kind === 'help') {
        out(daemonHelp(this.config.name, this.actions));
        code = EXIT.ok;
      } else {
        code = await this.perform(parsed.action, parsed.args, daemonConfig(this.values, parsed.overrides));
      }
    } catch (err) {
      const asUsage = err instanceof TypeError && !(err instanceof DaemonError) ? usageError(err.message) : err;
      code = reportError(asUsage, undefined, usage);
    }
    process.exitCode = code;
    return code;
  }

  /** One action with the config of this run (the constructor's options, or cli()'s overrides on top). */
  private async perform(action: string, args: string[], config: DaemonConfig): Promise<number> {
    const asDaemon = launches(action) ? daemonSide(config) : undefined;
    if (asDaemon !== undefined) return this.becomeDaemon(asDaemon);
    const custom = this.actions.get(action);
    if (custom) return Number((await custom.fn(args)) ?? 0);
    try {
      assertSupportedPlatform();
      switch (action) {
        case 'start':
          return await this.start(config);
        case 'run':
          return await this.startInFront(config);
        case 'restart':
          return await this.restart(config);
        case 'stop':
          return await (await import('../actions/stop.js')).stop(config);
        case 'status':
          return await (await import('../actions/status.js')).status(config);
        case 'reload':
          return await (await import('../actions/reload.js')).reload(config);
        default:
          throw usageError(`Unknown action '${action}'; valid actions: ${[...BUILT_IN, ...this.actions.keys()].join(', ')}`);
      }
    } catch (err) {
      if (err instanceof TypeError) throw err;
      return reportError(err, action, daemonUsage(config.name, this.actions));
    }
  }

  private requireWorker(config: DaemonConfig): void {
    if (typeof config.worker !== 'function') throw new TypeError("Daemon option 'worker' must be a function to start, got undefined");
  }

  private shouldDetach(config: DaemonConfig): boolean {
    const { detach } = config;
    if (detach !== 'auto') return detach;
    return !(process.pid === 1 || process.env.NOTIFY_SOCKET || stdinIsSocket());
  }

  /** Detached: re-run this script as the daemon through the detach engine. */
  private async start(config: DaemonConfig): Promise<number> {
    this.requireWorker(config);
    if (!this.shouldDetach(config)) return this.startInFront(config);
    return (await import('../actions/start.js')).start(detachedOptions(config));
  }

  private async restart(config: DaemonConfig): Promise<number> {
    this.requireWorker(config);
    if (!this.shouldDetach(config)) {
      credentialsForCaller(config.credentials); // refused before the stop

      const stopped = await (await import('../actions/stop.js')).stop(config);
      return stopped === EXIT.ok ? this.startInFront(config) : stopped;
    }
    return (await import('../actions/restart.js')).restart(detachedOptions(config));
  }

  /** In the re-run process: the detach engine already made this process the daemon. */
  private async becomeDaemon(config: DaemonConfig): Promise<never> {
    const env = process.env;
    const originCwd = env[ORIGIN_CWD_ENV] ?? '/';
    const reloadFrom = env[RELOAD_ENV];
    const notifySocket = env.NOTIFY_SOCKET;
    delete env[WORKER_ENV];
    delete env[ORIGIN_CWD_ENV];
    delete env[RELOAD_ENV];
    delete env.NOTIFY_SOCKET;
    this.runtime = new WorkerRuntime({ config, notifySocket, inFront: false, originCwd });
    if (reloadFrom === REEXECUTED) {
      // reload() re-executed this detached daemon in place (it cannot rewrite its pid file): same
      // pid and start time, so the pid file still names it. The cwd goes back to workDir.
      try {
        process.chdir(config.workDir);
      } catch {
        // Stays where the re-execution started.
      }
      out(`Reloading ${escapeForTerminal(config.name)} ... OK\n`);
    } else if (reloadFrom !== undefined) {
      await this.runtime.takeOverFrom(Number(reloadFrom));
    }
    return this.runtime.run();
  }

  /** Foreground: this process is the daemon; pid file, then the worker in front. */
  private async startInFront(c: DaemonConfig): Promise<number> {
    this.requireWorker(c);
    c = { ...c, credentials: credentialsForCaller(c.credentials) };
    // After reload() re-executed this process: same pid, so the pid file is already ours.
    const reexecuted = process.env[RELOAD_ENV] === REEXECUTED;
    const pidFile = PidFile.of(c);
    delete process.env[RELOAD_ENV];
    if (reexecuted) {
      // Same pid and start time: the pid file still names this process. Rewritten in case it went
      // missing, when this process (dropped to uid) may: one in root's directory stays root's.
      try {
        pidFile.write(process.pid, readStat(process.pid)!.startTime);
      } catch {
        // Root's pid file, which a stop by root removes.
      }
    } else {
      const claim = await pidFile.claim(c.startTimeout);
      if (!claim.claimed) {
        warn(`${c.name} already running with PID ${claim.pid}`);
        return EXIT.ok;
      }
    }
    markThisService();
    process.umask(c.umask);
    dropPrivileges(c.credentials);
    out(`${reexecuted ? 'Reloading' : 'Starting'} ${escapeForTerminal(c.name)} ... OK\n`);
    const notifySocket = process.env.NOTIFY_SOCKET;
    delete process.env.NOTIFY_SOCKET;
    this.runtime = new WorkerRuntime({ config: c, notifySocket, inFront: true, originCwd: process.cwd() });
    return this.runtime.run();
  }
}

/** In the re-run a detached start launched: the directory that start ran in; else undefined (the cwd). */
function callerCwd(): string | undefined {
  const env = process.env;
  const origin = env[ORIGIN_CWD_ENV];
  return env[WORKER_ENV] !== undefined && origin !== undefined && isAbsolute(origin) ? origin : undefined;
}

/**
 * In the re-run a detached start of this config launched: the config the daemon runs with, its pid
 * file the caller's (the marker names it); else undefined. The caller's resolved pid file is the
 * truth: a default one is derived from the caller's uid, and only root can change the user, so the
 * daemon of a root caller with `uid` (which derives /tmp/daemonocle-UID/NAME.pid for itself) takes
 * root's /run/daemonocle/NAME.pid from the marker.
 */
function daemonSide(config: DaemonConfig): DaemonConfig | undefined {
  const marker = process.env[WORKER_ENV];
  if (marker === undefined) return undefined;
  if (marker === config.pidFile) return config;
  if (config.defaultPidFile && marker === defaultPidFile(config.name, process.env, 0)) return { ...config, pidFile: marker };
  return undefined;
}

/** The detach engine's options for re-running this script as the daemon. */
function detachedOptions(config: DaemonConfig): ActionOptions {
  if (process.argv[1] === undefined) throw new DaemonError('unsupported', 'A detached start needs a script file (process.argv[1])');
  const keepFds = config.closeOpenFiles ? config.keepFds : [...new Set([...config.keepFds, ...userFds()])];
  return {
    ...config,
    command: scriptArgv(),
    env: { ...process.env, [WORKER_ENV]: config.pidFile, [ORIGIN_CWD_ENV]: process.cwd() },
    readyEndsWindow: true,
    library: true,
    keepFds: keepFds.sort((a, b) => a - b),
  };
}

function stdinIsSocket(): boolean {
  try {
    return fstatSync(0).isSocket();
  } catch {
    return false;
  }
}
