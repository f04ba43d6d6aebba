// The shapes every layer shares: the actions' names, and what a launch needs (the options an action
// runs with are the registry's, in src/options/resolve.ts). This module imports nothing, so any module may import it without pulling in another layer.

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
