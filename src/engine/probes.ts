// Readiness probes for programs that never send READY=1: a TCP port that accepts connections, a
// file that appears, a shell command that exits 0. Probed quickly at first, then backing off,
// and abandoned the moment the caller stops waiting (the daemon died, or the timeout passed).
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { Credentials, Probe } from '../base/types.js';
import { spawnProcess } from './spawn.js';

const FIRST_DELAY_MS = 10;
const MAX_DELAY_MS = 250;
const ATTEMPT_TIMEOUT_MS = 2000;

function tryPort(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(ok);
    };
    const abort = () => done(false);
    const timer = setTimeout(() => done(false), ATTEMPT_TIMEOUT_MS);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    signal.addEventListener('abort', abort, { once: true });
  });
}

function tryCommand(command: string, env: NodeJS.ProcessEnv, credentials: Credentials | undefined, signal: AbortSignal, cwd?: string): Promise<boolean> {
  return new Promise((resolve) => {
    // As the daemon's --user/--group (through setpriv), never with the caller's privileges.
    const { child } = spawnProcess({ argv: ['/bin/sh', '-c', command], cwd, env, credentials, stdin: 'ignore', otherwise: 'ignore' });
    // Our own probe process: a TERM when it overstays or the wait is over.
    const stop = () => child.kill('SIGTERM');
    const timer = setTimeout(stop, ATTEMPT_TIMEOUT_MS);
    signal.addEventListener('abort', stop, { once: true });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      resolve(code === 0 && !signal.aborted);
    });
  });
}

function attempt(p: Probe, env: NodeJS.ProcessEnv, credentials: Credentials | undefined, signal: AbortSignal, cwd?: string): Promise<boolean> {
  if (p.kind === 'port') return tryPort(p.host, p.port, signal);
  if (p.kind === 'file') return Promise.resolve(existsSync(p.path));
  return tryCommand(p.command, env, credentials, signal, cwd);
}

/**
 * Waits ms, or less if signal aborts first. The abort listener lives exactly as long as the sleep:
 * a long wait makes hundreds of these, and a listener left behind on each one would pile up on
 * the signal (Node's MaxListenersExceededWarning after the 11th, printed into the progress line).
 */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Resolves true once every probe has succeeded (each once), false if aborted first. A command probe
 * runs with env, as credentials' user and group when given (the daemon's own), in cwd (this
 * process's own by default).
 */
export async function waitForProbes(
  probes: Probe[],
  env: NodeJS.ProcessEnv,
  credentials: Credentials | undefined,
  signal: AbortSignal,
  onAnswer: (p: Probe) => void = () => {},
  cwd?: string,
): Promise<boolean> {
  const pending = new Set(probes);
  let delay = FIRST_DELAY_MS;
  while (!signal.aborted) {
    for (const p of [...pending]) {
      if (await attempt(p, env, credentials, signal, cwd)) {
        pending.delete(p);
        onAnswer(p);
      }
      if (signal.aborted) return false;
    }
    if (pending.size === 0) return true;
    await sleepUnlessAborted(delay, signal);
    delay = Math.min(MAX_DELAY_MS, Math.ceil(delay * 1.5));
  }
  return false;
}

export function describeProbe(p: Probe): string {
  if (p.kind === 'port') return `port ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  if (p.kind === 'file') return `file ${p.path}`;
  return `command ${p.command}`;
}

/** How a progress line names a probe: `127.0.0.1:8080`, `/run/app.sock`, `'pg_isready'`. */
export function probeLabel(p: Probe): string {
  if (p.kind === 'port') return `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  if (p.kind === 'file') return p.path;
  return `'${p.command}'`;
}
