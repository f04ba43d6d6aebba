// `daemonocle run` as PID 1 of a fresh pid namespace (what a container gives it), side by side
// with tini, the reference init.
import t from 'tap';
import type { Test } from 'tap';
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { BIN, childrenOf, fixture, needs, requireRoot, RUNTIME, sandbox, stat, TINI, unavailable, waitFor, zombiesAfterSettling, type Sandbox } from './helpers.js';

const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc'];

function canUnshare(t: Test): boolean {
  if (!requireRoot(t)) return false;
  if (!existsSync('/usr/bin/unshare')) return unavailable(t, 'unshare (util-linux)');
  return true;
}

const daemonocle = (cmd: string[]) => [RUNTIME, BIN, 'run', '--stop-timeout', '0.3', '--', ...cmd];

/**
 * What a test runs side by side: daemonocle, and tini, the reference, as a precondition (where it is
 * missing the comparison is skipped, or fails under CI, and daemonocle still runs).
 */
function wrappers(t: Test): [string, (cmd: string[]) => string[]][] {
  const tini = needs(t, TINI, 'tini (apt-get install tini) to compare with') ? TINI : undefined;
  return [['daemonocle', daemonocle], ...(tini ? [['tini', (cmd: string[]) => [tini, '--', ...cmd]] as [string, (cmd: string[]) => string[]]] : [])];
}

/** Runs argv as PID 1 of a new pid namespace; resolves the host pid of that PID 1. */
async function asPid1(box: Sandbox, argv: string[], env: Record<string, string> = {}) {
  const proc = execa(UNSHARE[0]!, [...UNSHARE.slice(1), ...argv], {
    env: { ...box.env, ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
  }) as ResultPromise;
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let init = 0;
  await waitFor('PID 1 of the namespace', () => {
    init = childrenOf(proc.pid!)[0] ?? 0;
    return init > 0 || proc.exitCode !== null;
  });
  return { proc, init, out: () => out, err: () => err };
}

t.test('as PID 1: the exit code passes through', async (t) => {
  if (!canUnshare(t)) return;
  const box = sandbox(t);
  for (const [name, wrap] of wrappers(t)) {
    const { proc } = await asPid1(box, wrap(['sh', '-c', 'exit 7']));
    t.equal((await proc).exitCode, 7, `${name}: 7 -> 7`);
  }
});

t.test('as PID 1: a TERM sent to PID 1 reaches the child; its signal death is 143', async (t) => {
  if (!canUnshare(t)) return;
  const box = sandbox(t);
  for (const [name, wrap] of wrappers(t)) {
    const { proc, init, out } = await asPid1(box, wrap([fixture('signals.js')]));
    await waitFor(`${name}: child ready`, () => out().includes('ready'));
    process.kill(init, 'SIGTERM');
    const r = await proc;
    t.match(out(), /got SIGTERM\n/, `${name}: the child got TERM`);
    t.equal(r.exitCode, 143, `${name}: exit 143`);
  }
});

t.test('as PID 1: 40 bursts of 50 orphans dying at once leave zero zombies after every burst', async (t) => {
  if (!canUnshare(t)) return;
  const box = sandbox(t);
  for (const [name, wrap] of wrappers(t)) {
    const { proc, init, out } = await asPid1(box, wrap([fixture('orphan-bursts.sh'), '50']));
    await waitFor(`${name}: the script ready`, () => out().includes('ready\n'));
    const [script] = childrenOf(init);
    const stranded: number[] = [];
    for (let k = 1; k <= 40; k++) {
      process.kill(script!, 'SIGUSR1');
      await waitFor(`${name}: burst ${k} made`, () => out().includes(`burst ${k}\n`));
      if ((await zombiesAfterSettling(init, [script!])) > 0) stranded.push(k);
    }
    t.same(stranded, [], `${name}: no burst left a zombie under PID 1`);
    process.kill(init, 'SIGTERM');
    await proc;
  }
});

t.test('as PID 1: a child ignoring TERM is still alive after the timeout, with a warning', async (t) => {
  if (!canUnshare(t)) return;
  const box = sandbox(t);
  const { proc, init, out, err } = await asPid1(box, daemonocle([fixture('signals.js')]), { SIGNALS_MODE: 'ignore' });
  await waitFor('child ready', () => out().includes('ready'));
  const child = Number(/ready (\d+)/.exec(out())?.[1]);
  t.ok(child > 1, `the child has a namespace pid (${child}) after PID 1's threads`);
  process.kill(init, 'SIGTERM');
  await waitFor('the warning', () => err().includes('WARNING'));
  t.equal(err(), `WARNING: signals.js (PID ${child}) did not exit 0.3 s after SIGTERM; still waiting (no SIGKILL is sent)\n`);
  t.equal(proc.exitCode, null, 'PID 1 still waiting');
  t.ok(stat(init), 'PID 1 alive');
  // Ending the test: kill the namespace's init (the test's doing, not the tool's).
  process.kill(init, 'SIGKILL');
  await proc;
});

t.test('as PID 1: run --pid-file writes pid 1, and status inside the namespace accepts it', async (t) => {
  if (!canUnshare(t)) return;
  const box = sandbox(t);
  const { proc, init, out } = await asPid1(box, [RUNTIME, BIN, 'run', '--pid-file', box.pidFile, '--name', 'svc', '--', fixture('signals.js')]);
  await waitFor('child ready', () => out().includes('ready'));
  t.match(readFileSync(box.pidFile, 'utf8'), /^1\n\d+\n$/, 'pid 1 and its start time');
  // A HEALTHCHECK-style status from inside the namespace.
  const nsenter = await execa('nsenter', ['--target', String(init), '--pid', '--mount', RUNTIME, BIN, 'status', '--pid-file', box.pidFile, '--name', 'svc'], { reject: false, env: box.env, extendEnv: false });
  t.match(nsenter.stdout, /^svc -- pid: 1, status: \w+, uptime: /);
  t.equal(nsenter.exitCode, 0);
  const outside = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'svc']);
  t.equal(outside.exitCode, 1, 'outside the namespace, pid 1 is not that process: not running');
  t.equal(outside.stderr, `WARNING: Broken pid file ${box.pidFile}\n`);
  process.kill(init, 'SIGTERM');
  await proc;
  t.notOk(existsSync(box.pidFile), 'removed on exit');
});
