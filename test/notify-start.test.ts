// start --notify: OK on the daemon's own READY=1, FAILED on death or after --start-timeout.
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, readPid, sandbox } from './helpers.js';

t.test('start --notify: OK as soon as the daemon says READY=1', async (t) => {
  const box = sandbox(t);
  const started = Date.now();
  const r = await box.cli([
    'start', '--pid-file', box.pidFile, '--name', 'svc', '--notify', '--',
    'sh', '-c', 'systemd-notify --ready --status=serving; exec sleep 1000',
  ]);
  t.equal(r.stdout, 'Starting svc ... OK\n');
  t.equal(r.exitCode, 0, r.stderr);
  t.ok(Date.now() - started < 30_000, 'did not wait for the 90 s timeout');
  t.ok(alive(readPid(box.pidFile)));
});

t.test('start --notify: a daemon that dies before READY=1 is FAILED at once', async (t) => {
  const box = sandbox(t);
  const err = join(box.dir, 'err.log');
  const started = Date.now();
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'svc', '--notify', '--stderr', err, '--', 'sh', '-c', 'echo no config >&2; exit 4']);
  t.equal(r.stdout, 'Starting svc ... FAILED\n');
  t.equal(r.stderr, 'ERROR: svc exited during startup with exit code 4\nno config\n');
  t.equal(r.exitCode, 1);
  t.ok(Date.now() - started < 30_000, 'promptly, not after the 90 s timeout');
  t.notOk(existsSync(box.pidFile));
});

t.test('start --notify: no READY=1 before --start-timeout is FAILED, daemon left running and tracked', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'svc', '--notify', '--start-timeout', '0.5', '--', 'sleep', '1000']);
  t.equal(r.stdout, 'Starting svc ... FAILED\n');
  const pid = readPid(box.pidFile);
  t.equal(
    r.stderr,
    `ERROR: svc timed out waiting for readiness after 0.5 s; it is left running as PID ${pid} (pid file ${box.pidFile}); stop it with: daemonocle stop --pid-file ${box.pidFile}\n`,
  );
  t.equal(r.exitCode, 1);
  t.ok(alive(pid), 'left running');
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'svc']);
  t.equal(stop.stdout, 'Stopping svc ... OK\n');
});

t.test('reload sends SIGHUP to the verified daemon', async (t) => {
  const box = sandbox(t);
  const log = join(box.dir, 'hup.log');
  writeFileSync(log, '');
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'svc', '--notify', '--stdout', log, '--',
    'sh', '-c', 'trap "echo got HUP" HUP; systemd-notify --ready; while :; do sleep 0.05; done']);
  t.equal(r.exitCode, 0, r.stderr);
  const pid = readPid(box.pidFile);
  const reload = await box.cli(['reload', '--pid-file', box.pidFile, '--name', 'svc']);
  t.equal(reload.stdout, `Reloading svc ... OK (SIGHUP sent to PID ${pid})\n`);
  t.equal(reload.exitCode, 0);
  const { waitFor } = await import('./helpers.js');
  const { readFileSync } = await import('node:fs');
  await waitFor('the HUP trap', () => readFileSync(log, 'utf8').includes('got HUP'));
  t.ok(alive(pid), 'still the same daemon');
  const none = await box.cli(['reload', '--pid-file', join(box.dir, 'none.pid'), '--name', 'svc']);
  t.equal(none.stderr, 'ERROR: svc is not running\n');
  t.equal(none.exitCode, 1);
});
