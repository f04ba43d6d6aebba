// `run` as exact as tini and dumb-init (#28): the signal state it was started with reaches the
// command, a signal in the first instant is forwarded, an inherited subreaper bit is honoured,
// `--signal-group` ends the child's group when the child exits, and the wrapper leaves the
// caller's directory. Each behaviour beside tini or dumb-init doing the same.
import t from 'tap';
import { execa } from 'execa';
import { mkdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { delimiter, dirname } from 'node:path';
import { BIN, RUNTIME, TINI, UNDER_BUN, alive, childrenOf, fixture, needs, requireRoot, sandbox, waitFor, zombiesAfterSettling } from './helpers.js';

const DUMB_INIT = '/usr/bin/dumb-init';

/**
 * `daemonocle run` as a user starts it: through the bin's launcher (its `#!/bin/sh` line, with
 * this runtime first on PATH). Under Bun, `bun BIN`: Bun keeps the inherited state itself.
 */
const daemonocleRun = (...args: string[]) => (UNDER_BUN ? [RUNTIME, BIN, 'run', ...args, '--'] : ['/bin/sh', BIN, 'run', ...args, '--']);
const PATH = `${dirname(RUNTIME)}${delimiter}${process.env.PATH ?? ''}`;

const SIG_LINES = ['grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status'];

t.test('signals inherited as ignored or blocked reach the command so, as under tini -s', async (t) => {
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  const box = sandbox(t);
  // nohup's HUP and a shell's `&` INT/QUIT ignored, and a mask, as a parent leaves them.
  const parent = ['env', '--ignore-signal=HUP,INT,QUIT', '--block-signal=USR1,WINCH'];
  const inParent = (argv: string[]) => execa(parent[0]!, [...parent.slice(1), ...argv], { env: { ...box.env, PATH }, extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000 });
  const plain = (await inParent(SIG_LINES)).stdout;
  t.match(plain, /SigIgn:\s*0+7\b/, 'the plain child sees HUP, INT and QUIT ignored');
  for (const [label, wrapper] of [
    ['tini -s', [TINI, '-s', '--']],
    ['daemonocle run', daemonocleRun()],
    ['daemonocle run --signal-group', daemonocleRun('--signal-group')],
  ] as const) {
    const r = await inParent([...wrapper, ...SIG_LINES]);
    t.equal(r.exitCode, 0, `${label}: exit 0`);
    t.equal(r.stdout, plain, `${label}: the command sees what a plain child of the same parent sees`);
  }
  // Without anything inherited the command starts from the default state, as before.
  const r = await execa(daemonocleRun()[0]!, [...daemonocleRun().slice(1), ...SIG_LINES], { env: { ...box.env, PATH }, extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000 });
  t.match(r.stdout, /SigBlk:\s*0+\nSigIgn:\s*0+$/, 'nothing inherited: nothing ignored or blocked');
});

/** The first child of pid (Node and tini fork from the main thread), or 0. */
const firstChild = (pid: number): number => childrenOf(pid)[0] ?? 0;

/** Busy-polls (no timer: the instant matters) until cond() is true or ms passed. */
function spinUntil(cond: () => boolean, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) if (cond()) return true;
  return false;
}

t.test('a TERM in the first instant is forwarded, as by tini', async (t) => {
  if (!requireRoot(t)) return;
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  if (!needs(t, '/usr/bin/unshare', 'unshare (util-linux)')) return;
  const box = sandbox(t);
  const opts = { env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 10_000 } as const;
  // Two busy loops, as in the measurement: the wrapper competes for both cores.
  const busy = [1, 2].map(() => execa('sh', ['-c', 'while :; do :; done'], { env: box.env, extendEnv: false, reject: false, stdin: 'ignore' }));
  t.teardown(() => busy.forEach((p) => p.kill('SIGKILL')));
  for (const [label, wrapper] of [
    ['tini', [TINI, '--']],
    ['daemonocle run', [RUNTIME, BIN, 'run', '--']],
  ] as const) {
    // As PID 1 (a container), where a signal without a handler is dropped: TERM the moment the
    // command's process appears. Up to 50 rounds, at most 15 s in all.
    const started = Date.now();
    let rounds = 0;
    let lost = 0;
    for (; rounds < 50 && Date.now() - started < 15_000; rounds++) {
      const proc = execa('unshare', ['--pid', '--fork', '--mount-proc', ...wrapper, 'sleep', '1000'], opts);
      let init = 0;
      await waitFor(`${label}: PID 1 of the namespace`, () => (init = firstChild(proc.pid!)) > 0 || proc.exitCode !== null);
      if (init > 0 && spinUntil(() => firstChild(init) > 0, 5000)) process.kill(init, 'SIGTERM');
      const r = await proc;
      if (r.exitCode !== 143) lost++;
    }
    t.equal(lost, 0, `${label} as PID 1: TERM sent as the command appeared ended it every time (exit 143), ${rounds} rounds`);
    // Not PID 1: TERM the moment the wrapper exists, and the moment its command appears.
    for (const when of ['the wrapper exists', 'the command appears'] as const) {
      let wrong = 0;
      for (let i = 0; i < 8; i++) {
        const proc = execa(wrapper[0]!, [...wrapper.slice(1), 'sleep', '1000'], opts);
        if (when === 'the command appears') spinUntil(() => firstChild(proc.pid!) > 0, 5000);
        process.kill(proc.pid!, 'SIGTERM');
        const r = await proc;
        if (!(r.signal === 'SIGTERM' || r.exitCode === 143)) wrong++;
      }
      const busyPids = new Set(busy.map((p) => p.pid));
      const left = () => box.processes().filter((p) => !busyPids.has(p));
      await waitFor(`${label}: nothing left`, () => left().length === 0, 2000).catch(() => {});
      t.equal(wrong, 0, `${label}, TERM as soon as ${when}: it died of TERM or exited 143 every time`);
      t.same(left(), [], `${label}, TERM as soon as ${when}: no process left`);
    }
  }
});

t.test('a TERM while the wrapper is still inside fork() is forwarded, as by tini (strace holds the fork 1.5 s)', async (t) => {
  if (!requireRoot(t)) return;
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  if (!needs(t, '/usr/bin/strace', 'strace (apt-get install strace) to hold fork() open')) return;
  if (!needs(t, '/usr/bin/unshare', 'unshare (util-linux)')) return;
  const box = sandbox(t);
  // The instant between the command's fork and the wrapper's next step, widened: strace delays
  // the return of every fork-style clone() (threads use clone3), so the command exists while the
  // wrapper, PID 1 of a new namespace, has not yet run another line. A wrapper that installs its
  // handlers after the spawn has none then, and the kernel drops a TERM to a PID 1 without one.
  const hold = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=clone', '-e', 'inject=clone:delay_exit=1500000'];
  for (const [label, wrapper] of [
    ['tini', [TINI, '--']],
    ['daemonocle run', [RUNTIME, BIN, 'run', '--']],
  ] as const) {
    for (let round = 1; round <= 2; round++) {
      const proc = execa(hold[0]!, [...hold.slice(1), 'unshare', '--pid', '--fork', '--mount-proc', ...wrapper, 'sleep', '1000'], {
        env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000,
      });
      // strace -> unshare -> PID 1 (the wrapper) -> sleep: TERM the wrapper once sleep exists.
      let init = 0;
      await waitFor(`${label}: the command under PID 1`, () => {
        const unshare = firstChild(proc.pid!);
        init = unshare ? firstChild(unshare) : 0;
        return (init > 0 && firstChild(init) > 0) || proc.exitCode !== null;
      }, 20_000);
      process.kill(init, 'SIGTERM');
      const sleeper = firstChild(init);
      const ended = await waitFor(`${label}: the command ends`, () => !alive(sleeper), 6000).then(() => true, () => false);
      if (!ended) process.kill(sleeper, 'SIGKILL');
      const r = await proc;
      t.ok(ended, `${label}, round ${round}: the TERM reached the command`);
      t.equal(r.exitCode, 143, `${label}, round ${round}: exit 143`);
    }
  }
});

/** Sets PR_SET_CHILD_SUBREAPER (36), then execs argv: the bit survives exec. */
const asSubreaper = (argv: string[]) => ['python3', '-c', 'import ctypes, os, sys; ctypes.CDLL(None).prctl(36, 1, 0, 0, 0); os.execvp(sys.argv[1], sys.argv[1:])', ...argv];

t.test('an inherited child-subreaper bit: every orphan is reaped, as by tini', async (t) => {
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  if (!needs(t, '/usr/bin/python3', 'python3 (to set the subreaper bit before exec)')) return;
  const box = sandbox(t);
  for (const [label, wrapper] of [
    ['tini', [TINI, '--']],
    ['daemonocle run', [RUNTIME, BIN, 'run', '--']],
  ] as const) {
    // orphans.sh leaves 50 grandchildren that exit 0.2 s later, says "orphaned 50 by PID" and stays.
    const argv = asSubreaper([...wrapper, fixture('orphans.sh'), '50']);
    const proc = execa(argv[0]!, argv.slice(1), { env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000 });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(`${label}: the orphans`, () => /orphaned 50 by (\d+)/.test(out) || proc.exitCode !== null);
    const child = Number(/orphaned 50 by (\d+)/.exec(out)?.[1]);
    t.equal(await zombiesAfterSettling(proc.pid!, [child]), 0, `${label}: no zombie left under the wrapper`);
    process.kill(proc.pid!, 'SIGTERM');
    const r = await proc;
    t.ok(r.signal === 'SIGTERM' || r.exitCode === 143, `${label}: stopped by TERM`);
  }
});

t.test('--signal-group: when the child exits, its group gets TERM, as under dumb-init; what outlives --stop-timeout is named', async (t) => {
  if (!needs(t, DUMB_INIT, 'dumb-init (apt-get install dumb-init) to compare with')) return;
  const box = sandbox(t);
  const opts = { env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000 } as const;
  // The shell leaves a background sleep in its own group, says its pid, and exits 3.
  const leaves = (trap: string) => ['sh', '-c', `${trap}sleep 300 >/dev/null 2>&1 & echo "left $!"; exit 3`];
  const leftPid = (out: string) => Number(/left (\d+)/.exec(out)?.[1]);
  for (const [label, wrapper] of [
    ['dumb-init', [DUMB_INIT, '--']],
    ['daemonocle run --signal-group', [RUNTIME, BIN, 'run', '--signal-group', '--']],
  ] as const) {
    const r = await execa(wrapper[0]!, [...wrapper.slice(1), ...leaves('')], opts);
    t.equal(r.exitCode, 3, `${label}: exits as the child did`);
    const bg = leftPid(String(r.stdout));
    await waitFor(`${label}: the background sleep to end`, () => !alive(bg), 2000).catch(() => {});
    t.notOk(alive(bg), `${label}: the background sleep got TERM and ended`);
  }
  // One that ignores TERM: never killed, named in a WARNING once --stop-timeout passed.
  const r = await box.spawn(['run', '--signal-group', '--stop-timeout', '0.3', '--', ...leaves('trap "" TERM; ')], { timeout: 20_000 });
  const bg = leftPid(String(r.stdout));
  t.equal(r.exitCode, 3, 'a survivor: still exits as the child did');
  t.match(r.stderr, new RegExp(`WARNING: .*still run 0\\.3 s after SIGTERM: PID ${bg}; left running \\(no SIGKILL is sent\\)`), 'the survivor is named');
  t.ok(alive(bg), 'and left running (the sandbox ends it)');
});

t.test("the wrapper leaves the caller's directory once the command runs, as dumb-init does (tini stays in it)", async (t) => {
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  if (!needs(t, DUMB_INIT, 'dumb-init (apt-get install dumb-init) to compare with')) return;
  const box = sandbox(t);
  const work = join(box.dir, 'work');
  mkdirSync(work);
  const ready = ['sh', '-c', 'echo "ready $$"; exec sleep 1000'];
  for (const [label, wrapper, wrapperDir, commandDir] of [
    ['tini', [TINI, '--'], box.dir, box.dir],
    ['dumb-init', [DUMB_INIT, '--'], '/', box.dir],
    ['daemonocle run', [RUNTIME, BIN, 'run', '--'], '/', box.dir],
    ['daemonocle run --work-dir', [RUNTIME, BIN, 'run', '--work-dir', work, '--'], '/', work],
  ] as const) {
    const proc = execa(wrapper[0]!, [...wrapper.slice(1), ...ready], { cwd: box.dir, env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000 });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(`${label}: the command`, () => /ready \d+/.test(out) || proc.exitCode !== null);
    const child = Number(/ready (\d+)/.exec(out)?.[1]);
    // The wrapper moves right after the spawn; by the time the command has spoken it has moved.
    await waitFor(`${label}: the wrapper's directory`, () => readlinkSync(`/proc/${proc.pid}/cwd`) === wrapperDir, 2000).catch(() => {});
    t.equal(readlinkSync(`/proc/${proc.pid}/cwd`), wrapperDir, `${label}: the wrapper is in ${wrapperDir === '/' ? '/' : "the caller's directory"}`);
    t.equal(readlinkSync(`/proc/${child}/cwd`), commandDir, `${label}: the command is in ${commandDir === work ? 'the work dir' : "the caller's directory"}`);
    process.kill(proc.pid!, 'SIGTERM');
    await proc;
  }
});
