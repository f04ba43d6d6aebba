import { constants } from 'node:os';

const byNumber = new Map<number, string>();
for (const [name, num] of Object.entries(constants.signals)) {
  if (!byNumber.has(num)) byNumber.set(num, name);
}

/** "SIGTERM" for 15; "signal 99" when unknown. */
export function signalName(signal: number): string {
  return byNumber.get(signal) ?? `signal ${signal}`;
}

export function signalNumber(name: string): number | undefined {
  const upper = name.toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (/^\d+$/.test(name)) return byNumber.has(Number(name)) ? Number(name) : undefined;
  return (constants.signals as Record<string, number>)[full];
}

/**
 * The exit status of a death by `signal`, as a shell reports it and as this project exits in its
 * place: 128+n (143 for SIGTERM). The one place that sum is made.
 */
export function exitCodeFor(signal: NodeJS.Signals | number): number {
  return 128 + (typeof signal === 'number' ? signal : constants.signals[signal]);
}

export const SIGTERM = constants.signals.SIGTERM;
export const SIGKILL = constants.signals.SIGKILL;
export const SIGHUP = constants.signals.SIGHUP;

/**
 * The signals `run` forwards to its child, as tini and dumb-init do:
 * - HUP, INT, QUIT, TERM: the ways a supervisor or a terminal asks a service to reload or end;
 * - USR1, USR2: application-defined (log rotation, dumps);
 * - WINCH: terminal resize, for interactive children.
 * Not forwarded: KILL and STOP (cannot be caught), CHLD (ours: it drives reaping), PIPE, ALRM,
 * TTIN/TTOU/TSTP (job control belongs to the terminal; when the child has a session of its own
 * they stop it with the wrapper instead, see engine/job-control.ts), and faults (SEGV, BUS, FPE, ILL).
 */
export const FORWARDED = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

/**
 * What a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\\, a resize). When
 * `run` holds the terminal for a child in a session of its own, these go to the child's group.
 */
export const FROM_TERMINAL = new Set<string>(['SIGINT', 'SIGQUIT', 'SIGWINCH']);

/** Forwarded signals after which the child is expected to exit (the stop timeout starts). */
export const STOPPING = new Set<string>(['SIGINT', 'SIGQUIT', 'SIGTERM']);

/**
 * Ends this process by the default action of `signal`, so that a supervisor sees a death by that
 * signal rather than an exit code (systemd counts a death by TERM or INT as a clean stop, but exit
 * code 143 as a failure). Returns only if the signal did not end the process (PID 1, for one).
 */
export function dieOf(signal: NodeJS.Signals): void {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}
