// `daemonocle run`: the foreground wrapper, outside a pid namespace.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, childrenOf, fixture, onTerminal, readPid, RUNTIME, sandbox, stat, untilReady, waitFor, zombiesAfterSettling, type Sandbox } from './helpers.js';

/** Starts `daemonocle run ...args` and waits for the child's "ready PID" line. */
const running = (box: Sandbox, args: string[], env: Record<string, string> = {}) => untilReady(box, [RUNTIME, BIN, 'run', ...args], env);

t.test('run: exit codes pass through', async (t) => {
  const box = sandbox(t);
  for (const code of [0, 1, 2, 7, 42, 126, 255]) {
    const r = await box.cli(['run', '--', 'sh', '-c', `exit ${code}`]);
    t.equal(r.exitCode, code, `exit ${code}`);
    t.equal(r.stderr, '');
  }
});

t.test('run: every forwarded signal reaches the child', async (t) => {
  const box = sandbox(t);
  const { proc, child, out } = await running(box, ['--', fixture('signals.js')], { SIGNALS_MODE: 'report' });
  t.equal(stat(child)?.ppid, proc.pid, 'the child is ours');
  for (const sig of ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const) {
    proc.kill(sig);
    await waitFor(`${sig} at the child`, () => out().includes(`got ${sig}\n`));
    t.pass(`${sig} forwarded`);
  }
  t.ok(alive(child));
  proc.kill('SIGTERM');
  await waitFor('TERM at the child', () => out().includes('got SIGTERM\n'));
  process.kill(child, 'SIGKILL');
  const r = await proc;
  t.equal(r.exitCode, 137, 'a child killed by a signal it was not sent: 128+n');
});

for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'] as const) {
  t.test(`run: a child that dies of the forwarded ${sig} takes the wrapper with it, by the same signal`, async (t) => {
    const box = sandbox(t);
    const { proc, child } = await running(box, ['--', fixture('signals.js')]);
    proc.kill(sig);
    const r = await proc;
    t.equal(r.signal, sig, `the wrapper died of ${sig}`);
    t.notOk(alive(child));
  });
}

t.test('run: a child that traps TERM and exits 0 ends the wrapper with 0', async (t) => {
  const box = sandbox(t);
  const { proc } = await running(box, ['--', fixture('signals.js')], { SIGNALS_MODE: 'exit0' });
  proc.kill('SIGTERM');
  const r = await proc;
  t.equal(r.exitCode, 0);
  t.equal(r.signal, undefined);
});

t.test('run: a child that ignores TERM gets a warning after --stop-timeout, never SIGKILL', async (t) => {
  const box = sandbox(t);
  const { proc, child, err } = await running(box, ['--name', 'stubborn', '--stop-timeout', '0.3', '--', fixture('signals.js')], { SIGNALS_MODE: 'ignore' });
  proc.kill('SIGTERM');
  await waitFor('the warning', () => err().includes('WARNING'));
  t.equal(err(), `WARNING: stubborn (PID ${child}) did not exit 0.3 s after SIGTERM; still waiting (no SIGKILL is sent)\n`);
  t.ok(alive(child), 'still alive');
  t.equal(proc.exitCode, null, 'still waiting');
  process.kill(child, 'SIGKILL');
  t.equal((await proc).exitCode, 137);
});

t.test('run --pid-file: status and stop work on the foreground service', async (t) => {
  const box = sandbox(t);
  const { proc } = await running(box, ['--pid-file', box.pidFile, '--name', 'front', '--', fixture('signals.js')]);
  t.equal(readPid(box.pidFile), proc.pid, 'the pid file names the wrapper');
  const st = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'front']);
  t.match(st.stdout, `front -- pid: ${proc.pid}, status: `);
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'front']);
  t.equal(stop.stdout, 'Stopping front ... OK\n');
  const r = await proc;
  t.equal(r.signal, 'SIGTERM');
  t.notOk(existsSync(box.pidFile), 'removed on the way out');
});

t.test('run --signal-group: signals go to the whole process group of the child', async (t) => {
  const box = sandbox(t);
  const { proc, out } = await running(box, ['--signal-group', '--', fixture('workers.js'), '2']);
  const members = out().trim().split(' ').slice(1).map(Number);
  t.equal(members.length, 3);
  proc.kill('SIGTERM');
  await proc;
  await waitFor('every member gone', () => members.every((p) => !alive(p)));
  t.pass('leader and workers all got TERM');
});

t.test('run: a command that cannot run exits 127 / 126 with an ERROR', async (t) => {
  const box = sandbox(t);
  const missing = await box.cli(['run', '--', 'no-such-command-xyz']);
  t.equal(missing.exitCode, 127);
  t.equal(missing.stderr, 'ERROR: Cannot run no-such-command-xyz: command not found in PATH\n');
  const notExec = await box.cli(['run', '--', join(box.dir)]);
  t.equal(notExec.exitCode, 126);
});

t.test('run --subreaper: orphaned grandchildren are reaped when not PID 1', async (t) => {
  const box = sandbox(t);
  const proc = box.spawn(['run', '--subreaper', '--', fixture('orphans.sh'), '30']);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('orphans made', () => out.includes('orphaned 30'));
  // The sleeps end after 0.2 s; every one was ours to reap (orphans.sh itself is the one child kept).
  const script = Number(/orphaned 30 by (\d+)/.exec(out)?.[1]);
  t.equal(await zombiesAfterSettling(proc.pid!, [script]), 0, 'zero zombies');
  proc.kill('SIGTERM');
  await proc;
});

t.test('run: TERM to the wrapper and the child at once (systemd control-group kill) still ends in death by TERM', async (t) => {
  const box = sandbox(t);
  for (let i = 0; i < 5; i++) {
    const proc = box.spawn(['run', '--', 'sleep', '1000'], { detached: true });
    await waitFor('the child', () => childrenOf(proc.pid!).length > 0);
    process.kill(-proc.pid!, 'SIGTERM');
    const r = await proc;
    t.equal(r.signal, 'SIGTERM', `round ${i}: the wrapper died of TERM, not exit 143`);
  }
});

t.test('run on a terminal: Ctrl-C reaches the child once; Ctrl-Z stops it with the wrapper, CONT resumes both', async (t) => {
  const box = sandbox(t);
  const command = [RUNTIME, BIN, 'run', '--', process.execPath, fixture('signals.js')].join(' ');
  const session = onTerminal(t, box, command, { SIGNALS_MODE: 'exit0' });
  if (!session) return;
  const { term, out } = session;
  await waitFor('the child on the terminal', () => /ready (\d+)/.test(out()));
  const child = Number(/ready (\d+)/.exec(out())![1]);
  const wrapper = stat(child)!.ppid;

  term.stdin!.write('\x03');
  await waitFor('the Ctrl-C to arrive', () => out().includes('got SIGINT'));
  // Anything the wrapper forwarded for that Ctrl-C was sent before this USR1 and would show first.
  process.kill(wrapper, 'SIGUSR1');
  await waitFor('the USR1 marker', () => out().includes('got SIGUSR1'));
  t.equal(out().split('got SIGINT').length - 1, 1, 'one Ctrl-C is one SIGINT for the child');

  term.stdin!.write('\x1a');
  await waitFor('Ctrl-Z to stop wrapper and child', () => stat(wrapper)?.state === 'T' && stat(child)?.state === 'T');
  // script(1) stops itself once it sees its child stopped, as a job would: wait for that, then
  // continue it and the wrapper (a CONT sent before it stops itself would be lost).
  await waitFor('script(1) to stop with its job', () => stat(term.pid!)?.state === 'T');
  process.kill(term.pid!, 'SIGCONT');
  process.kill(wrapper, 'SIGCONT');
  await waitFor('CONT to resume both', () => stat(wrapper)?.state !== 'T' && stat(child)?.state !== 'T');

  process.kill(wrapper, 'SIGTERM');
  term.stdin!.end();
  const r = await term;
  t.equal(r.exitCode, 0, 'the child exited 0 on the forwarded TERM, and so did the wrapper');
  t.notOk(alive(child), 'child gone');
});

t.test('run on a terminal: Ctrl-C still reaches the whole job (a grandchild in the child\'s group)', async (t) => {
  const box = sandbox(t);
  // `; :` keeps the shell from exec'ing: node runs as its child, in its process group.
  const job = `${process.execPath} ${fixture('signals.js')}; :`;
  const session = onTerminal(t, box, `${RUNTIME} ${BIN} run -- /bin/sh -c '${job}'`, { SIGNALS_MODE: 'die' });
  if (!session) return;
  const { term, out } = session;
  await waitFor('the grandchild on the terminal', () => /ready (\d+)/.test(out()));
  const grandchild = Number(/ready (\d+)/.exec(out())![1]);
  term.stdin!.write('\x03');
  await waitFor('the Ctrl-C to reach the grandchild', () => out().includes('got SIGINT'));
  term.stdin!.end();
  await term;
  await waitFor('the grandchild to die of it', () => !alive(grandchild));
});
