// The library in front: `detach: false`, `run`, and detach 'auto' choosing the foreground.
import t from 'tap';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, fakeNotifySocket, fixture, libAppEnv, readPid, requireRoot, RUNTIME, sandbox, waitFor, type Sandbox } from './helpers.js';

const APP = fixture('lib-app.js');

const appEnv = libAppEnv;

/** Starts the app in front and resolves once its worker printed its first line. */
async function inFront(box: Sandbox, args: string[], extra: Record<string, string>, stdin: 'ignore' | 'pipe' = 'ignore') {
  const proc = execa(RUNTIME, [APP, ...args], { env: appEnv(box, extra), extendEnv: false, reject: false, stdin, stripFinalNewline: false });
  let seen = '';
  proc.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
  await waitFor('the worker', () => /worker (ready|up) \d+/.test(seen) || proc.exitCode !== null);
  return { proc, seen: () => seen };
}

const callbacks = (box: Sandbox) => readFileSync(join(box.dir, 'callback.log'), 'utf8');

for (const [signal, code, n] of [['SIGTERM', 143, 15], ['SIGINT', 130, 2], ['SIGQUIT', 131, 3]] as const) {
  t.test(`detach: false under ${signal}: callback runs, exit ${code}`, async (t) => {
    const box = sandbox(t);
    const { proc, seen } = await inFront(box, ['start'], { APP_DETACH: 'false', APP_MODE: 'ready' });
    t.match(seen(), /^Starting app \.\.\. OK\nworker ready \d+\n/, 'OK before the worker runs');
    t.equal(readPid(box.pidFile), proc.pid, 'the pid file names the foreground process');
    proc.kill(signal);
    const r = await proc;
    t.equal(r.exitCode, code);
    t.equal(callbacks(box), `Terminated by ${signal} (${n})|-${n}\n`);
    t.equal(readFileSync(join(box.dir, 'callback.done'), 'utf8'), 'done\n', 'the async callback was awaited');
    t.notOk(existsSync(box.pidFile), 'pid file removed');
  });
}

t.test('run: the worker in front, exiting the way it ended', async (t) => {
  const cases: [string, Record<string, string>, number, string][] = [
    ['worker returned', { APP_MODE: 'return' }, 0, 'Shutting down normally|0'],
    ['process.exit(3)', { APP_MODE: 'exit' }, 3, 'Exiting with non-zero exit code 3|3'],
    ['process.exit(0)', { APP_MODE: 'exit', APP_EXIT_CODE: '0' }, 0, 'Shutting down normally|0'],
    ['worker threw', { APP_MODE: 'throw' }, 1, 'Dying due to unhandled Error: boom|1'],
  ];
  for (const [label, env, code, message] of cases) {
    const box = sandbox(t);
    const r = await box.node(APP, ['run'], { env: appEnv(box, env) });
    t.equal(r.exitCode, code, `${label}: exit ${code}`);
    t.equal(r.stdout, 'Starting app ... OK\n', `${label}: OK printed`);
    t.equal(callbacks(box), `${message}\n`, `${label}: callback`);
    if (label === 'worker threw') t.match(r.stderr, /^Error: boom\n {4}at /, 'the stack on stderr');
    t.notOk(existsSync(box.pidFile), `${label}: pid file removed`);
  }
});

t.test("detach 'auto' stays in front under systemd (NOTIFY_SOCKET) and speaks sd_notify", async (t) => {
  const box = sandbox(t);
  const { address, messages } = fakeNotifySocket(t);
  const { proc } = await inFront(box, ['start'], { APP_MODE: 'ready', NOTIFY_SOCKET: address });
  t.equal(readPid(box.pidFile), proc.pid, 'in front: the pid file names this very process');
  await waitFor('READY=1', () => messages.some((m) => m.READY === '1'));
  proc.kill('SIGTERM');
  const r = await proc;
  t.equal(r.signal, 'SIGTERM', 'under systemd it dies of SIGTERM (a clean stop), not exit 143');
  await waitFor('STOPPING=1', () => messages.some((m) => m.STOPPING === '1'));
  t.same(messages.map((m) => Object.keys(m)[0]), ['READY', 'STOPPING']);
});

t.test('in front under systemd: WATCHDOG=1 at half WATCHDOG_USEC; HUP re-executes in place (RELOADING=1, READY=1)', async (t) => {
  const box = sandbox(t);
  const { address, messages } = fakeNotifySocket(t);
  const { proc, seen } = await inFront(box, ['start'], { APP_MODE: 'ready', NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000' });
  await waitFor('two watchdog pings', () => messages.filter((m) => m.WATCHDOG === '1').length >= 2);
  proc.kill('SIGHUP');
  await waitFor('the worker again', () => seen().split('worker ready').length === 3);
  t.equal(seen(), `Starting app ... OK\nworker ready ${proc.pid}\nReloading app ... OK\nworker ready ${proc.pid}\n`, 'same pid, re-executed');
  t.equal(readPid(box.pidFile), proc.pid, 'the pid file still names it');
  const afterReload = messages.length;
  await waitFor('pings from the new image', () => messages.slice(afterReload).some((m) => m.WATCHDOG === '1'));
  const kinds = messages.map((m) => Object.keys(m)[0]).filter((k) => k !== 'WATCHDOG');
  t.same(kinds, ['READY', 'RELOADING', 'READY'], 'RELOADING=1, then READY=1 from the new image');
  t.match(messages.find((m) => m.RELOADING === '1')?.MONOTONIC_USEC, /^\d+$/, 'RELOADING=1 carries MONOTONIC_USEC');
  proc.kill('SIGTERM');
  t.equal((await proc).signal, 'SIGTERM');
  t.equal(callbacks(box), 'Shutting down for reload|0\nTerminated by SIGTERM (15)|-15\n');
  t.notOk(existsSync(box.pidFile), 'pid file removed');
});

t.test('detach: false: HUP re-executes the same process; the shell keeps its job', async (t) => {
  const box = sandbox(t);
  const { proc, seen } = await inFront(box, ['start'], { APP_DETACH: 'false', APP_MODE: 'ready' });
  proc.kill('SIGHUP');
  await waitFor('the worker again', () => seen().split('worker ready').length === 3);
  t.equal(seen(), `Starting app ... OK\nworker ready ${proc.pid}\nReloading app ... OK\nworker ready ${proc.pid}\n`);
  t.equal(readPid(box.pidFile), proc.pid);
  proc.kill('SIGTERM');
  t.equal((await proc).exitCode, 143, 'not under systemd: exit 143 as the callback table says');
  t.equal(callbacks(box), 'Shutting down for reload|0\nTerminated by SIGTERM (15)|-15\n');
});

t.test("detach 'auto' without ready(): READY=1 when the grace window ends", async (t) => {
  const box = sandbox(t);
  const { address, messages, arrivedAt } = fakeNotifySocket(t);
  const started = Date.now();
  const { proc } = await inFront(box, ['start'], { APP_MODE: 'quiet', APP_GRACE: '0.5', NOTIFY_SOCKET: address });
  await waitFor('READY=1', () => messages.some((m) => m.READY === '1'));
  const readyAt = arrivedAt[messages.findIndex((m) => m.READY === '1')]!;
  t.ok(readyAt - started >= 500, 'not before the window ended');
  proc.kill('SIGTERM');
  await proc;
});

t.test("detach 'auto' stays in front when stdin is a socket", async (t) => {
  const box = sandbox(t);
  // Node's 'pipe' stdio is a socketpair.
  const { proc } = await inFront(box, ['start'], { APP_MODE: 'ready' }, 'pipe');
  t.equal(readPid(box.pidFile), proc.pid);
  proc.kill('SIGTERM');
  t.equal((await proc).exitCode, 143);
});

t.test('detach: false: a TERM while the reload\'s callback runs ends the process instead of re-executing it', async (t) => {
  const box = sandbox(t);
  const { proc, seen } = await inFront(box, ['start'], { APP_DETACH: 'false', APP_MODE: 'ready', APP_CALLBACK_MS: '500' });
  proc.kill('SIGHUP');
  await waitFor('the reload callback to start', () => existsSync(join(box.dir, 'callback.log')) && callbacks(box) !== '');
  proc.kill('SIGTERM');
  const r = await proc;
  t.equal(r.exitCode, 143);
  t.equal(callbacks(box), 'Shutting down for reload|0\n', 'one callback: the process was already shutting down');
  t.notMatch(seen(), /Reloading/, 'not re-executed');
  t.notOk(existsSync(box.pidFile), 'pid file removed');
});

t.test('detach: false with uid: the worker keeps none of root\'s supplementary groups, as `run --user` does', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const groupsOf = (status: string) => /^Groups:(.*)$/m.exec(status)![1]!.trim();
  // A root that belongs to root (0) and adm (4), as a login shell's often does.
  const asRootInGroups = ['--groups', '0,4', '--'];
  const viaRun = await execa('setpriv', [...asRootInGroups, RUNTIME, BIN, 'run', '--user', 'nobody', '--', 'cat', '/proc/self/status'], {
    env: box.env, extendEnv: false, stdin: 'ignore',
  });
  const expected = groupsOf(viaRun.stdout);
  t.notMatch(` ${expected} `, / (0|4) /, 'run --user leaves root\'s groups behind');

  const proc = execa('setpriv', [...asRootInGroups, RUNTIME, APP, 'start'], {
    env: appEnv(box, { APP_DETACH: 'false', APP_MODE: 'ready', APP_UID: 'nobody' }), extendEnv: false, reject: false, stdin: 'ignore',
  });
  let seen = '';
  proc.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
  await waitFor('the worker', () => /worker ready \d+/.test(seen) || proc.exitCode !== null);
  const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
  t.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, 'runs as nobody');
  t.equal(groupsOf(status), expected, 'the same supplementary groups as run --user nobody');
  proc.kill('SIGTERM');
  await proc;
});
