// The shapes every layer shares: the options an action runs with, and what a launch needs. This
// module imports nothing, so any module may import it without pulling in another layer.

/**
 * A promise that never settles: what a wait that can no longer end its own way waits on (a
 * readiness condition that cannot be met waits for the window's end; a way out that came too late,
 * for the exit already under way).
 */
export const NEVER: Promise<never> = new Promise<never>(() => {});

export const ACTIONS = ['start', 'stop', 'restart', 'status', 'reload', 'run', 'list'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Credentials {
  uid: number | undefined;
  gid: number | undefined;
  /** Name for initgroups(); undefined when the uid has no passwd entry. */
  userName: string | undefined;
}

export type Probe =
  | { kind: 'port'; host: string; port: number }
  | { kind: 'file'; path: string }
  | { kind: 'cmd'; command: string };

/** run --rewrite: a signal received as `from` is forwarded as `to`; `to` null drops it. */
export interface Rewrite {
  from: NodeJS.Signals;
  to: NodeJS.Signals | null;
}

/** What an action runs with: the CLI's flags or a Daemon's options, validated, defaults filled in. */
export interface ActionOptions {
  name: string;
  pidFile: string;
  /** true when pidFile is the derived default (its directory may be created 0700). */
  defaultPidFile: boolean;
  command: string[];
  workDir: string;
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
  umask: number;
  credentials: Credentials;
  stopTimeout: number;
  grace: number;
  signalGroup: boolean;
  force: boolean;
  json: boolean;
  /** status: the group and its descendants as a tree. */
  tree: boolean;
  keepFds: number[];
  /** Wait for the daemon's own READY=1 instead of the grace window. */
  notify: boolean;
  /** With notify or a probe: how long to wait for readiness. */
  startTimeout: number;
  /** Environment of the daemon (default: the caller's). */
  env?: NodeJS.ProcessEnv;
  /** Started by the library (the script re-run as the daemon): hints name its options, not the CLI's. */
  library?: boolean;
  /** A READY=1 from the daemon ends the grace window early (the library's daemon.ready()). */
  readyEndsWindow?: boolean;
  /** Signal sent by `reload`. */
  reloadSignal: number;
  /** Readiness probes: ready once every one succeeds (replaces the grace window). */
  probes: Probe[];
  /** run: become a child subreaper and reap orphans even when not PID 1. */
  subreaper: boolean;
  /** The command gets a pipe at this fd; its first newline there means ready (s6's notification-fd). */
  readyFd: number | undefined;
  /** run: signals forwarded as another (or dropped), by the signal received. */
  rewrite: Rewrite[];
  /** run: where the wrapper would exit N, it exits M. */
  mapExit: [number, number][];
  /** list: the directory whose pid files to list (default: the default pid files' own). */
  pidDir: string | undefined;
  /** run: start the command again when it exits, and how often. */
  restart: RestartPolicy;
}

/** When and how fast a supervised command is started again (--restart and its companions). */
export interface RestartPolicy {
  /** no: never (run as without --restart); on-failure: a non-zero exit or a signal no stop sent; always: any exit no stop caused. */
  when: 'no' | 'on-failure' | 'always';
  /** Seconds before the first restart; doubled after each one, up to maxDelay. */
  delay: number;
  maxDelay: number;
  /** A child up this many seconds starts the waits again from `delay`. */
  reset: number;
  /** More than `starts` starts within `seconds` and the service gives up. */
  limit: { starts: number; seconds: number };
}

/**
 * When a detached start counts as up:
 * - grace: alive at the end of the window; with readyEndsWindow, an sd_notify READY=1 from the
 *   daemon (the library's daemon.ready()) ends the window early;
 * - wait: the daemon sends READY=1 (notify) and/or every probe succeeds, before timeoutSeconds;
 *   past that the start is FAILED but the daemon is left running and tracked.
 */
export type Readiness =
  | { kind: 'grace'; seconds: number; readyEndsWindow?: boolean }
  | { kind: 'wait'; notify: boolean; probes: Probe[]; readyFd: number | undefined; timeoutSeconds: number };

/** What any launch needs, detached or in front: the command and the process it runs as. */
export interface CommandSpec {
  name: string;
  /** The command and its arguments; argv[0] is looked up in env.PATH when it has no '/'. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  umask: number;
  credentials: Credentials;
  /** Appended to; undefined means /dev/null (detached) or inherited (in front). */
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
  /** Extra fds of the caller the command inherits at the same numbers. */
  keepFds: number[];
}

/** Everything the detach engine needs to launch one daemon, whoever asked for it (CLI or library). */
export interface LaunchSpec extends CommandSpec {
  pidFile: string;
  readiness: Readiness;
}
