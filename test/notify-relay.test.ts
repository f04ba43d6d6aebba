// `run` speaking sd_notify, checked against a notify socket of the test's own (no systemd needed).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fakeNotifySocket, sandbox, waitFor } from './helpers.js';

t.test('run under systemd: READY=1 and a STATUS after the grace window, STOPPING=1 on TERM', async (t) => {
  const box = sandbox(t);
  const { address, messages } = fakeNotifySocket(t);
  const started = Date.now();
  const proc = box.spawn(['run', '--name', 'svc', '--grace', '0.4', '--', 'sleep', '1000'], { env: { NOTIFY_SOCKET: address } });
  await waitFor('READY=1', () => messages.some((m) => m.READY === '1'));
  t.ok(Date.now() - started >= 400, 'not before the window ended');
  const ready = messages.find((m) => m.READY === '1')!;
  t.match(ready.STATUS, /^svc is running \(PID \d+\)$/);
  proc.kill('SIGTERM');
  await proc;
  t.match(messages.at(-1), { STOPPING: '1', STATUS: /^Stopping svc: SIGTERM sent to PID \d+$/ });
});

t.test('run under systemd with WatchdogSec= but without --notify: a WARNING says nobody can feed it', async (t) => {
  const box = sandbox(t);
  const { address } = fakeNotifySocket(t);
  const r = await box.spawn(['run', '--name', 'svc', '--', 'true'], { env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '3000000' } });
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, 'WARNING: systemd expects WATCHDOG=1 every 3 s (WatchdogSec=), but without --notify the program has no notify socket to send it on');
});

t.test('run --notify: the child\'s messages are relayed, MAINPID is not; its READY=1 is the readiness', async (t) => {
  const box = sandbox(t);
  const { address, messages } = fakeNotifySocket(t);
  const envFile = join(box.dir, 'env.txt');
  const script = [
    `env > ${envFile}`,
    'systemd-notify --status="warming up"',
    'systemd-notify --pid=1 EXTEND_TIMEOUT_USEC=5000000',
    'systemd-notify WATCHDOG=1',
    'systemd-notify --ready --status=serving',
    'systemd-notify RELOADING=1 MONOTONIC_USEC=42',
    'exec sleep 1000',
  ].join('; ');
  const proc = box.spawn(['run', '--name', 'svc', '--notify', '--', 'sh', '-c', script], {
    env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '3000000', WATCHDOG_PID: String(process.pid) },
  });
  await waitFor('RELOADING=1', () => messages.some((m) => m.RELOADING === '1'));
  t.same(messages, [
    { STATUS: 'warming up' },
    { EXTEND_TIMEOUT_USEC: '5000000' },
    { WATCHDOG: '1' },
    { READY: '1', STATUS: 'serving' },
    { RELOADING: '1', MONOTONIC_USEC: '42' },
  ], 'relayed in order; MAINPID dropped; no READY=1 of the wrapper\'s own');
  const env = readFileSync(envFile, 'utf8');
  t.match(env, /^WATCHDOG_USEC=3000000$/m, 'WATCHDOG_USEC passed through');
  t.notMatch(env, /^WATCHDOG_PID=/m, 'WATCHDOG_PID (naming the wrapper) is not');
  t.match(env, /^NOTIFY_SOCKET=@daemonocle\//m, 'the child talks to the relay');
  proc.kill('SIGTERM');
  await proc;
});

t.test('run --notify: a child that never says READY=1 never looks ready', async (t) => {
  const box = sandbox(t);
  const { address, messages } = fakeNotifySocket(t);
  const proc = box.spawn(['run', '--name', 'svc', '--notify', '--grace', '0.1', '--', 'sh', '-c', 'systemd-notify --status=busy; exec sleep 1000'], {
    env: { NOTIFY_SOCKET: address },
  });
  await waitFor('the status', () => messages.length > 0);
  // Give a wrongly sent READY=1 every chance to arrive: well past the grace window.
  await new Promise((r) => setTimeout(r, 500));
  t.same(messages, [{ STATUS: 'busy' }]);
  proc.kill('SIGTERM');
  await proc;
});
