// Test helpers: run the built CLI as a user would, read process state from /proc, and make sure
// every process a test started is gone when it ends.
import { execa, type Options, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { Test } from 'tap';
import { NotifyServer, type NotifyFields } from '../dist/systemd/notify.js';

export const ROOT = resolve(import.meta.dirname, '..');
/** The package's bin, as npm links it: the CommonJS bundle of the CLI (rollup.config.mjs). */
export const BIN = join(ROOT, 'dist', 'bin', 'daemonocle.cjs');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/**
 * The runtime the project's own processes run under in the tests: the CLI, `run`, and the library
 * scripts. Node (the one running tap) by default; DAEMONOCLE_RUNTIME=/path/to/bun runs them all
 * under Bun. tap itself, and the fixtures that stand in for users' programs, stay on Node.
 */
export const RUNTIME = process.env.DAEMONOCLE_RUNTIME || process.execPath;
export const UNDER_BUN = basename(RUNTIME).startsWith('bun');
export const fixture = (name: string) => join(FIXTURES, name);

export interface Result {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Sandbox {
  dir: string;
  token: string;
  pidFile: string;
  env: NodeJS.ProcessEnv;
  /** Runs `daemonocle ...args` with the sandbox's marker in its environment. */
  cli(args: string[], options?: Options): Promise<Result>;
  /**
   * Starts `daemonocle ...args` and returns at once, for a test that drives it while it runs (reads
   * its output, signals it, then awaits it): the sandbox's environment plus `options.env`, stdin
   * ignored, never rejecting. Other options are execa's, as given.
   */
  spawn(args: string[], options?: Options): ResultPromise<Options>;
  /** Runs `node SCRIPT ...args` the same way. */
  node(script: string, args: string[], options?: Options): Promise<Result>;
  /** Live processes carrying this sandbox's marker (the daemons and their children). */
  processes(): number[];
}

/** A temp dir, a pid file path in it, and teardown that reaps every process the test started. */
export function sandbox(t: Test): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'daemonocle-test-'));
  const token = randomUUID();
  const env = { ...process.env, DAEMONOCLE_TEST_TOKEN: token };
  const box: Sandbox = {
    dir,
    token,
    pidFile: join(dir, 'app.pid'),
    env,
    cli(args, options = {}) {
      return box.node(BIN, args, options);
    },
    spawn(args, options = {}) {
      const stdin = options.stdio ? {} : { stdin: 'ignore' as const };
      return execa(RUNTIME, [BIN, ...args], { ...stdin, reject: false, ...options, env: { ...env, ...options.env }, extendEnv: false });
    },
    async node(script, args, options = {}) {
      const stdio = options.stdio ? {} : { stdin: 'ignore' };
      const r = await execa(RUNTIME, [script, ...args], {
        env,
        extendEnv: false,
        reject: false,
        stripFinalNewline: false,
        timeout: 60_000,
        ...stdio,
        ...options,
      } as Options);
      return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
    },
    processes: () => processesWithToken(token),
  };
  t.teardown(async () => {
    await killAll(token);
    rmSync(dir, { recursive: true, force: true });
  });
  return box;
}

export function processesWithToken(token: string): number[] {
  const needle = `DAEMONOCLE_TEST_TOKEN=${token}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').includes(needle) && !isZombie(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Test cleanup only: the tool itself never sends SIGKILL unasked. */
async function killAll(token: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const pids = processesWithToken(token);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Stat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  ttyNr: number;
  startTime: number;
}

export function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      state: f[0]!,
      ppid: Number(f[1]),
      pgrp: Number(f[2]),
      session: Number(f[3]),
      ttyNr: Number(f[4]),
      startTime: Number(f[19]),
    };
  } catch {
    return null;
  }
}

export function isZombie(pid: number): boolean {
  const s = stat(pid);
  return s !== null && (s.state === 'Z' || s.state === 'X');
}

/** Zombie children of ppid (as the host sees pids). */
export function zombiesOf(ppid: number): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = stat(Number(entry));
    if (st && st.ppid === ppid && (st.state === 'Z' || st.state === 'X')) n++;
  }
  return n;
}

/** Children of pid (every thread's), as the host sees pids; [] once it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim().split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/**
 * Zombies left under a reaper once its orphans settled: first every child but `keep` has died
 * (none alive), then the reaper gets up to 2 s to reap them. A zombie seen only while its
 * brothers were still dying is no failure; one still there after that is.
 */
export async function zombiesAfterSettling(reaper: number, keep: number[]): Promise<number> {
  await waitFor('the orphans to die', () => childrenOf(reaper).every((p) => keep.includes(p) || !alive(p)));
  await waitFor('the reaper to reap them', () => zombiesOf(reaper) === 0, 2000).catch(() => {});
  return zombiesOf(reaper);
}

/** Alive = exists and is not a zombie (this machine's PID 1 reaps orphans late). */
export const alive = (pid: number): boolean => stat(pid) !== null && !isZombie(pid);

export function openFds(pid: number): number[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);
}

export const describeFds = (pid: number): string =>
  openFds(pid)
    .map((fd) => {
      try {
        return `${fd}=${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
      } catch {
        return `${fd}=?`;
      }
    })
    .join(' ');

export const fdTarget = (pid: number, fd: number) => readlinkSync(`/proc/${pid}/fd/${fd}`);

export function readPid(pidFile: string): number {
  return Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
}

/** Bounded wait for a condition; fails loudly instead of hanging. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * The one skip rule: a test that cannot run here says what it needs and skips, except under
 * CI=true, where a missing requirement is a failure. Returns false, for `return unavailable(...)`.
 */
export function unavailable(t: Test, needs: string): false {
  if (process.env.CI === 'true') t.fail(`needs ${needs}, and CI=true forbids skipping`);
  else t.skip(`needs ${needs}`);
  return false;
}

/** tini, the reference init the foreground tests compare `run` with, where it is installed. */
export const TINI = ['/usr/bin/tini', '/usr/bin/tini-static'].find((p) => existsSync(p));

/** A precondition: the program at path is installed; else unavailable (skipped, or failed under CI). */
export function needs(t: Test, path: string | undefined, what: string): path is string {
  return (path !== undefined && existsSync(path)) || unavailable(t, what);
}

/** Whether root-only tests may run. */
export function requireRoot(t: Test): boolean {
  return process.getuid?.() === 0 || unavailable(t, 'root');
}

/** Environment for test/fixtures/lib-app.js: its pid file, callback log and output files in the sandbox. */
export function libAppEnv(box: Sandbox, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...box.env,
    APP_PID_FILE: box.pidFile,
    APP_CALLBACK_LOG: join(box.dir, 'callback.log'),
    APP_CALLBACK_DONE: join(box.dir, 'callback.done'),
    APP_STDOUT: join(box.dir, 'out.log'),
    APP_STDERR: join(box.dir, 'err.log'),
    ...extra,
  };
}

/** A TCP port nobody listens on right now (for probe tests). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

/** A notify socket of the test's own, standing in for systemd: every message, with its arrival time. */
export function fakeNotifySocket(t: Test): { address: string; messages: NotifyFields[]; arrivedAt: number[] } {
  const server = NotifyServer.open();
  if (typeof server === 'string') throw new Error(server);
  const messages: NotifyFields[] = [];
  const arrivedAt: number[] = [];
  server.listen((m) => {
    messages.push(m);
    arrivedAt.push(Date.now());
  });
  t.teardown(() => server.close());
  return { address: server.address, messages, arrivedAt };
}

/**
 * Runs `command` (a shell line) on a new pseudo-terminal through script(1): as its controlling
 * terminal and foreground group, as script(1)'s own child; what is written to `term.stdin` is typed
 * on that terminal.
 * Undefined (skipped, or failed under CI) where script(1) is missing.
 */
export function onTerminal(t: Test, box: Sandbox, command: string, env: Record<string, string>) {
  if (!existsSync('/usr/bin/script')) {
    unavailable(t, 'script(1) from util-linux for a pseudo-terminal');
    return undefined;
  }
  // `exec`: script(1) runs the line with $SHELL -c, and a shell that does not exec a lone command
  // itself (dash) would sit between script(1) and the job, hiding the job's stops from it.
  const term = execa('script', ['-qfec', `exec ${command}`, '/dev/null'], {
    env: { ...box.env, ...env },
    extendEnv: false,
    reject: false,
    stdin: 'pipe',
    timeout: 60_000,
  });
  let raw = '';
  term.stdout!.on('data', (d: Buffer) => (raw += d.toString()));
  /** out(): what was written, without carriage returns; raw(): byte for byte. */
  return { term, out: () => raw.replace(/\r/g, ''), raw: () => raw };
}

/** Starts argv (ending in a fixture that prints "ready PID") and waits for that line, or its exit. */
export async function untilReady(box: Sandbox, argv: string[], env: Record<string, string> = {}) {
  const proc = execa(argv[0]!, argv.slice(1), {
    env: { ...box.env, ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor('the child to be ready', () => /ready (\d+)/.test(out) || proc.exitCode !== null);
  return { proc, child: Number(/ready (\d+)/.exec(out)?.[1]), out: () => out, err: () => err };
}
