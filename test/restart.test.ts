import t from 'tap';
import { alive, readPid, sandbox } from './helpers.js';

t.test('restart: stops the old daemon and starts a new one', async (t) => {
  const box = sandbox(t);
  const args = ['--pid-file', box.pidFile, '--name', 'svc', '--grace', '0.2', '--', 'sleep', '1000'];
  t.equal((await box.cli(['start', ...args])).exitCode, 0);
  const old = readPid(box.pidFile);
  const r = await box.cli(['restart', ...args]);
  t.equal(r.stdout, 'Stopping svc ... OK\nStarting svc ... OK\n');
  t.equal(r.stderr, '');
  t.equal(r.exitCode, 0);
  const fresh = readPid(box.pidFile);
  t.not(fresh, old, 'new pid');
  t.notOk(alive(old), 'old one gone');
  t.ok(alive(fresh));
  t.same(box.processes(), [fresh]);
});

t.test('restart: when not running, WARNING then Starting ... OK', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['restart', '--pid-file', box.pidFile, '--name', 'svc', '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(r.stdout, 'Starting svc ... OK\n');
  t.equal(r.stderr, 'WARNING: svc is not running\n');
  t.equal(r.exitCode, 0);
  t.ok(alive(readPid(box.pidFile)));
});

t.test('restart: a stop that times out does not start a second daemon', async (t) => {
  const box = sandbox(t);
  const { fixture } = await import('./helpers.js');
  const common = ['--pid-file', box.pidFile, '--name', 'svc', '--grace', '0.3'];
  t.equal((await box.cli(['start', ...common, '--', fixture('ignore-term.js')])).exitCode, 0);
  const old = readPid(box.pidFile);
  const r = await box.cli(['restart', ...common, '--stop-timeout', '0.3', '--', fixture('ignore-term.js')]);
  t.equal(r.stdout, 'Stopping svc ... FAILED\n');
  t.equal(r.exitCode, 1);
  t.same(box.processes(), [old], 'only the old daemon');
});
