import type { Credentials } from '../options.js';
import type { Probe } from './probe-spec.js';

/**
 * When a detached start counts as up:
 * - grace: alive at the end of the window; with readyEndsWindow, an sd_notify READY=1 from the
 *   daemon (the library's daemon.ready()) ends the window early;
 * - wait: the daemon sends READY=1 (notify) and/or every probe succeeds, before timeoutSeconds;
 *   past that the start is FAILED but the daemon is left running and tracked.
 */
export type Readiness =
  | { kind: 'grace'; seconds: number; readyEndsWindow?: boolean }
  | { kind: 'wait'; notify: boolean; probes: Probe[]; timeoutSeconds: number };

/** What any launch needs, detached or in front: the command and the process it runs as. */
export interface CommandSpec {
  name: string;
  /** The command and its arguments; argv[0] is looked up in env.PATH when it has no '/'. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  umask: number;
  credentials: Credentials;
  /** Appended to; undefined means /dev/null. */
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
  /** Extra fds of the caller the daemon inherits at the same numbers. */
  keepFds: number[];
}

/** Everything the engine needs to launch one daemon, whoever asked for it (CLI or library). */
export interface LaunchSpec extends CommandSpec {
  pidFile: string;
  readiness: Readiness;
}

export type StartOutcome =
  | { ok: true; pid: number }
  | { ok: false; pid: number | undefined; message: string; startupStderr: string };
