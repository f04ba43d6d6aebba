// Readiness probes: start knows when a program that never speaks sd_notify is really serving.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, fixture, freePort, readPid, sandbox } from './helpers.js';

/** A port nobody listens on right now. */
t.test('--ready-port: OK only once the port accepts connections, long before the grace window', async (t) => {
  const box = sandbox(t);
  const port = await freePort();
  const mark = join(box.dir, 'listening');
  const started = Date.now();
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'web', '--grace', '30', '--ready-port', String(port), '--',
    fixture('server-after.js'), String(port), '600'], { env: { ...box.env, READY_MARK: mark } });
  const done = Date.now();
  t.equal(r.stdout, 'Starting web ... OK\n');
  t.equal(r.exitCode, 0, r.stderr);
  const listeningAt = Number(readFileSync(mark, 'utf8'));
  t.ok(done >= listeningAt, 'not before the server listened');
  t.ok(done - started < 10_000, `well before the 30 s window (${done - started} ms)`);
  t.ok(alive(readPid(box.pidFile)));
});

t.test('--ready-port on IPv6', async (t) => {
  const box = sandbox(t);
  let port: number;
  try {
    port = await freePort('::1');
  } catch {
    return t.skip('no IPv6 loopback here');
  }
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'web6', '--ready-port', `[::1]:${port}`, '--',
    fixture('server-after.js'), String(port), '200'], { env: { ...box.env, HOST: '::1' } });
  t.equal(r.stdout, 'Starting web6 ... OK\n');
});

t.test('a server that crashes before listening: FAILED with its code and stderr, promptly', async (t) => {
  const box = sandbox(t);
  const port = await freePort();
  const err = join(box.dir, 'err.log');
  const started = Date.now();
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'web', '--stderr', err, '--ready-port', String(port), '--',
    fixture('server-after.js'), String(port), '300', 'crash']);
  t.equal(r.stdout, 'Starting web ... FAILED\n');
  t.equal(r.stderr, 'ERROR: web exited during startup with exit code 3\nserver: cannot load config\n');
  t.equal(r.exitCode, 1);
  t.ok(Date.now() - started < 10_000, 'not after the 90 s timeout');
  t.notOk(existsSync(box.pidFile));
});

t.test('a server that never listens: FAILED after --start-timeout, left running and stoppable', async (t) => {
  const box = sandbox(t);
  const port = await freePort();
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'web', '--ready-port', String(port), '--start-timeout', '0.8', '--',
    fixture('server-after.js'), String(port), '0', 'never']);
  t.equal(r.stdout, 'Starting web ... FAILED\n');
  const pid = readPid(box.pidFile);
  t.match(r.stderr, `ERROR: web timed out waiting for readiness after 0.8 s; it is left running as PID ${pid}`);
  t.equal(r.exitCode, 1);
  t.ok(alive(pid));
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'web']);
  t.equal(stop.stdout, 'Stopping web ... OK\n');
});

t.test('a probe waited on for 5 s leaks no abort listeners: stderr holds exactly the expected lines, no Node warning', async (t) => {
  const box = sandbox(t);
  const port = await freePort();
  // start: 5 s of backoff sleeps against a port nobody listens on, then the timeout's ERROR alone.
  // run: the same probe for the whole life of a 5 s command, and nothing at all on stderr.
  const [start, run] = await Promise.all([
    box.cli(['start', '--pid-file', box.pidFile, '--name', 'web', '--ready-port', String(port), '--start-timeout', '5', '--', 'sleep', '1000']),
    box.cli(['run', '--ready-port', String(port), '--', 'sleep', '5']),
  ]);
  const pid = readPid(box.pidFile);
  t.equal(start.stdout, 'Starting web ... FAILED\n');
  t.equal(start.stderr, `ERROR: web timed out waiting for readiness after 5 s; it is left running as PID ${pid} (pid file ${box.pidFile}); `
    + `stop it with: daemonocle stop --pid-file ${box.pidFile}\n`);
  t.equal(start.exitCode, 1);
  t.equal(run.stderr, '');
  t.equal(run.stdout, '');
  t.equal(run.exitCode, 0);
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'web'])).stdout, 'Stopping web ... OK\n');
});

t.test('--ready-file and --ready-cmd each end the wait', async (t) => {
  const box = sandbox(t);
  const flag = join(box.dir, 'ready.flag');
  const fileStart = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'f', '--grace', '30', '--ready-file', flag, '--',
    'sh', '-c', `sleep 0.3; touch ${flag}; exec sleep 1000`]);
  t.equal(fileStart.stdout, 'Starting f ... OK\n');
  t.ok(existsSync(flag));
  const other = join(box.dir, 'cmd.pid');
  const marker = join(box.dir, 'marker');
  const cmdStart = await box.cli(['start', '--pid-file', other, '--name', 'c', '--grace', '30', '--ready-cmd', `grep -q up ${marker}`, '--',
    'sh', '-c', `sleep 0.3; echo up > ${marker}; exec sleep 1000`]);
  t.equal(cmdStart.stdout, 'Starting c ... OK\n');
  t.equal(readFileSync(marker, 'utf8'), 'up\n');
});

t.test('restart uses the same rule: OK only when the new server accepts connections', async (t) => {
  const box = sandbox(t);
  const port = await freePort();
  const args = ['--pid-file', box.pidFile, '--name', 'web', '--ready-port', String(port), '--', fixture('server-after.js'), String(port), '300'];
  t.equal((await box.cli(['start', ...args])).exitCode, 0);
  const old = readPid(box.pidFile);
  const mark = join(box.dir, 'listening');
  const started = Date.now();
  const r = await box.cli(['restart', ...args], { env: { ...box.env, READY_MARK: mark } });
  t.equal(r.stdout, 'Stopping web ... OK\nStarting web ... OK\n');
  t.ok(Date.now() >= Number(readFileSync(mark, 'utf8')), 'OK came after the new server listened');
  t.ok(Date.now() - started >= 300);
  t.not(readPid(box.pidFile), old);
});

t.test('bad probe values are usage errors', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['start', '--ready-port', 'web:http', '--', 'sleep', '1']);
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /^ERROR: --ready-port takes \[HOST:\]PORT \(e\.g\. 8080, 127\.0\.0\.1:8080, \[::1\]:8080\), not 'web:http'\n/);
});
