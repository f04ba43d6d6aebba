// `run` beyond tini and dumb-init: --rewrite (beside dumb-init's), --map-exit (beside tini's -e),
// --ready-fd (s6's notification-fd, for run and start), and no orphan when the wrapper is killed.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, childrenOf, fakeNotifySocket, fixture, isZombie, needs, readPid, requireRoot, RUNTIME, sandbox, TINI, untilReady, waitFor, type Sandbox } from './helpers.js';

const DUMB_INIT = '/usr/bin/dumb-init';

/** Starts a wrapper (argv) around test/fixtures/signals.js and waits for the child's "ready PID". */
const wrapping = (box: Sandbox, wrapper: string[], env: Record<string, string> = {}) => untilReady(box, [...wrapper, fixture('signals.js')], env);

const daemonocle = (...args: string[]) => [RUNTIME, BIN, 'run', ...args, '--'];

t.test('--rewrite TERM:QUIT forwards QUIT, as dumb-init --rewrite 15:3 does', async (t) => {
  if (!needs(t, DUMB_INIT, 'dumb-init (apt-get install dumb-init) to compare with')) return;
  const box = sandbox(t);
  for (const [label, wrapper] of [
    ['dumb-init', [DUMB_INIT, '--rewrite', '15:3']],
    ['daemonocle', daemonocle('--rewrite', 'TERM:QUIT')],
    ['daemonocle, by number', daemonocle('--rewrite', '15:3')],
  ] as const) {
    const { proc, child, out } = await wrapping(box, [...wrapper], { SIGNALS_MODE: 'report' });
    proc.kill('SIGTERM');
    await waitFor(`${label}: the child's report`, () => out().includes('got '));
    t.equal(out().split('\n')[1], 'got SIGQUIT', `${label}: the child got QUIT, not TERM`);
    process.kill(child, 'SIGKILL');
    await proc;
  }
});

t.test('--rewrite USR1:none drops USR1, as dumb-init --rewrite 10:0 does', async (t) => {
  if (!needs(t, DUMB_INIT, 'dumb-init (apt-get install dumb-init) to compare with')) return;
  const box = sandbox(t);
  for (const [label, wrapper] of [
    ['dumb-init', [DUMB_INIT, '--rewrite', '10:0']],
    ['daemonocle', daemonocle('--rewrite', 'USR1:none')],
  ] as const) {
    const { proc, child, out } = await wrapping(box, [...wrapper], { SIGNALS_MODE: 'report' });
    proc.kill('SIGUSR1');
    proc.kill('SIGUSR2');
    await waitFor(`${label}: USR2 at the child`, () => out().includes('got SIGUSR2'));
    t.notMatch(out(), /got SIGUSR1/, `${label}: USR1 never reached the child`);
    process.kill(child, 'SIGKILL');
    await proc;
  }
});

t.test('a child that dies of the rewritten QUIT takes the wrapper with it by QUIT; the warning names QUIT', async (t) => {
  const box = sandbox(t);
  const dies = await wrapping(box, daemonocle('--rewrite', 'TERM:QUIT'));
  dies.proc.kill('SIGTERM');
  const r = await dies.proc;
  t.equal(r.signal, 'SIGQUIT', 'the wrapper died of QUIT, the signal actually sent');
  t.notOk(alive(dies.child));

  const stays = await wrapping(box, daemonocle('--rewrite', 'TERM:QUIT', '--stop-timeout', '0.2', '--name', 'app'), { SIGNALS_MODE: 'report' });
  stays.proc.kill('SIGTERM');
  await waitFor('the stop warning', () => stays.err().includes('WARNING'));
  t.match(stays.err(), /^WARNING: app \(PID \d+\) did not exit 0\.2 s after SIGQUIT; still waiting \(no SIGKILL is sent\)\n/);
  process.kill(stays.child, 'SIGKILL');
  await stays.proc;
});

t.test('--map-exit 143:0 makes a TERM-stopped child a success, as tini -e 143 does', async (t) => {
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  const box = sandbox(t);
  for (const [label, wrapper] of [
    ['tini', [TINI!, '-s', '-e', '143', '--']],
    ['daemonocle', daemonocle('--map-exit', '143:0')],
  ] as const) {
    const { proc, child } = await wrapping(box, [...wrapper]);
    proc.kill('SIGTERM');
    const r = await proc;
    t.equal(r.exitCode, 0, `${label}: exit 0`);
    t.equal(r.signal, undefined, `${label}: no signal death`);
    t.notOk(alive(child));
  }
});

t.test('--map-exit maps exit codes; others pass through', async (t) => {
  const box = sandbox(t);
  const args = ['run', '--map-exit', '3:0', '--map-exit', '0:9', '--'];
  t.equal((await box.cli([...args, 'sh', '-c', 'exit 3'])).exitCode, 0, '3 -> 0');
  t.equal((await box.cli([...args, 'sh', '-c', 'exit 0'])).exitCode, 9, '0 -> 9');
  t.equal((await box.cli([...args, 'sh', '-c', 'exit 4'])).exitCode, 4, '4 unmapped');
});

t.test('bad --rewrite, --map-exit and --ready-fd: one ERROR naming the option and the value, exit 2', async (t) => {
  const box = sandbox(t);
  const cases: [string[], RegExp][] = [
    [['--rewrite', 'TERM'], /^ERROR: --rewrite takes FROM:TO .*, not 'TERM'\n/],
    [['--rewrite', 'FOO:BAR'], /^ERROR: --rewrite takes FROM:TO .*, not 'FOO:BAR'\n/],
    [['--rewrite', 'ALRM:TERM'], /^ERROR: --rewrite: run forwards only .*, so it cannot rewrite SIGALRM \('ALRM:TERM'\)\n/],
    [['--map-exit', 'x:1'], /^ERROR: --map-exit takes N:M with exit codes 0-255 \(e\.g\. 143:0\), not 'x:1'\n/],
    [['--map-exit', '300:0'], /^ERROR: --map-exit takes N:M .*, not '300:0'\n/],
    [['--ready-fd', '1'], /^ERROR: --ready-fd takes an fd number >= 3 \(0-2 are the command's stdio\), not '1'\n/],
    [['--ready-fd', 'abc'], /^ERROR: --ready-fd takes an fd number >= 3 .*, not 'abc'\n/],
    [['--ready-fd', '5', '--notify'], /^ERROR: --ready-fd and --notify are two readiness signals from one command/],
  ];
  const marker = join(box.dir, 'ran');
  for (const [args, message] of cases) {
    const r = await box.cli(['run', ...args, '--', 'touch', marker]);
    t.equal(r.exitCode, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, `${args.join(' ')}: the ERROR line`);
  }
  const clash = await execa('sh', ['-c', `exec 3</dev/null; exec "$@"`, 'sh', RUNTIME, BIN, 'start', '--ready-fd', '3', '--keep-fds', '3', '--', 'touch', marker], {
    env: box.env, reject: false,
  });
  t.equal(clash.exitCode, 2);
  t.match(clash.stderr, /^ERROR: --ready-fd 3 is also in --keep-fds\n/);
  // Socket activation names this very process (LISTEN_PID=$$ before exec): fds 3 and 4 are taken.
  const activated = await execa('sh', ['-c', `LISTEN_PID=$$ LISTEN_FDS=2 exec "$@"`, 'sh', RUNTIME, BIN, 'run', '--ready-fd', '4', '--', 'touch', marker], {
    env: box.env, reject: false,
  });
  t.equal(activated.exitCode, 2);
  t.match(activated.stderr, /^ERROR: --ready-fd 4 is one of the socket-activation fds \(LISTEN_FDS\) the command gets\n/);
  t.notOk(existsSync(marker), 'nothing ran');
});

t.test('run --ready-fd under a notify socket: READY=1 only after the newline', async (t) => {
  const box = sandbox(t);
  const systemd = fakeNotifySocket(t);
  const marker = join(box.dir, 'about-to-be-ready');
  const proc = box.spawn(['run', '--name', 'svc', '--ready-fd', '5', '--', 'sh', '-c', `sleep 0.3; touch ${marker}; echo >&5; exec sleep 1000`], {
    env: { NOTIFY_SOCKET: systemd.address },
  });
  await waitFor('READY=1', () => systemd.messages.some((m) => m.READY === '1'));
  t.ok(existsSync(marker), 'the command had written its newline');
  t.match(systemd.messages.find((m) => m.READY === '1')?.STATUS, /^svc is running \(PID \d+\), a newline on fd 5 ready$/);
  t.match(systemd.messages[0]?.STATUS, /^Waiting for a newline on fd 5$/, 'first it said what it waits for');
  proc.kill('SIGTERM');
  await proc;
});

t.test('start --ready-fd: OK at the newline; EOF first is a timeout; death first is FAILED', async (t) => {
  const box = sandbox(t);
  const marker = join(box.dir, 'about-to-be-ready');
  const p = ['--pid-file', box.pidFile, '--name', 'app'];
  const ok = await box.cli(['start', ...p, '--grace', '60', '--ready-fd', '5', '--', 'sh', '-c', `sleep 0.2; touch ${marker}; echo >&5; exec sleep 1000`]);
  t.equal(ok.stdout, 'Starting app ... OK\n', ok.stderr);
  t.ok(existsSync(marker), 'OK came after the newline');
  t.equal((await box.cli(['stop', ...p])).exitCode, 0);

  const silent = await box.cli(['start', ...p, '--ready-fd', '5', '--start-timeout', '0.5', '--', 'sh', '-c', 'exec 5>&-; exec sleep 1000']);
  t.equal(silent.exitCode, 1);
  t.match(silent.stderr, /^ERROR: app timed out waiting for readiness after 0\.5 s; it is left running as PID \d+/);
  t.ok(alive(readPid(box.pidFile)), 'left running and tracked');
  t.equal((await box.cli(['stop', ...p])).exitCode, 0);

  const dies = await box.cli(['start', ...p, '--ready-fd', '5', '--', 'sh', '-c', 'exit 3']);
  t.equal(dies.stdout, 'Starting app ... FAILED\n');
  t.equal(dies.stderr, 'ERROR: app exited during startup with exit code 3 (its error output went to /dev/null; add --stderr FILE to see it)\n');
});

t.test('start --ready-fd with a probe: OK only once both say so', async (t) => {
  const box = sandbox(t);
  const flag = join(box.dir, 'flag');
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--ready-fd', '7', '--ready-file', flag, '--',
    'sh', '-c', `echo >&7; sleep 0.3; touch ${flag}; exec sleep 1000`]);
  t.equal(r.stdout, 'Starting app ... OK\n', r.stderr);
  t.ok(existsSync(flag), 'the probe had answered too');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
});

/** The first child of pid, polled without a pause, so the caller can act within microseconds of the fork. */
async function firstChildAtOnce(pid: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const child = childrenOf(pid)[0];
    if (child !== undefined) return child;
    if (Date.now() > deadline) throw new Error(`timed out waiting for a child of ${pid}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * SIGKILLs a fresh wrapper the moment its child appears, ROUNDS times: the child must die each
 * time, including when the wrapper dies before the parent-death signal could be set in the child.
 */
async function killWrapperLeavesNoOrphan(t: Test, box: Sandbox, extra: string[]) {
  const ROUNDS = 10;
  for (let i = 0; i < ROUNDS; i++) {
    // No pipes: a surviving child holding one would keep the wait below from ever ending.
    const proc = box.spawn(['run', ...extra, '--', 'sleep', '1000'], { stdio: 'ignore' });
    const child = await firstChildAtOnce(proc.pid!);
    proc.kill('SIGKILL');
    await proc;
    // The kernel sends the parent-death signal at once; the bound only leaves room for a loaded machine.
    await waitFor(`the child (PID ${child}) to die, round ${i + 1}`, () => !alive(child) || isZombie(child), 10_000);
  }
  t.pass(`${extra.join(' ') || 'no options'}: ${ROUNDS} wrappers SIGKILLed as soon as their child appeared; each child died`);
}

t.test('a SIGKILLed wrapper takes its command along (parent-death signal)', async (t) => {
  const box = sandbox(t);
  await killWrapperLeavesNoOrphan(t, box, []);
  if (requireRoot(t)) await killWrapperLeavesNoOrphan(t, box, ['--user', 'nobody']);
});
