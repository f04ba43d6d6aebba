import t from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, fixture, readPid, sandbox, waitFor } from './helpers.js';

async function startFixture(box: ReturnType<typeof sandbox>, args: string[], extra: string[] = []) {
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.3', ...extra, '--', ...args]);
  if (r.exitCode !== 0) throw new Error(`start failed: ${r.stdout}${r.stderr}`);
  return readPid(box.pidFile);
}

/** Starts workers.js with n workers; resolves to its pid and the pids it reported, leader first. */
async function startWorkers(box: ReturnType<typeof sandbox>, n: number) {
  const out = `${box.dir}/out.log`;
  const pid = await startFixture(box, [fixture('workers.js'), String(n)], ['--stdout', out]);
  await waitFor('workers ready', () => /^ready /.test(readFileSync(out, 'utf8')));
  return { pid, members: readFileSync(out, 'utf8').trim().split(' ').slice(1).map(Number) };
}

t.test('stop: OK only once the process is gone; pid file removed', async (t) => {
  const box = sandbox(t);
  const pid = await startFixture(box, ['sleep', '1000']);
  const r = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'sleeper']);
  t.equal(r.stdout, 'Stopping sleeper ... OK\n');
  t.equal(r.stderr, '');
  t.equal(r.exitCode, 0);
  t.notOk(alive(pid), 'gone (or a zombie awaiting init) when stop returned');
  t.notOk(existsSync(box.pidFile), 'pid file removed');
  t.notOk(existsSync(`${box.pidFile}.lock`), 'and its lock file with it');
  t.same(readdirSync(box.dir), [], 'nothing left in the directory');
});

t.test('stop: not running is a WARNING and exit 0', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(r.stdout, '');
  t.equal(r.stderr, 'WARNING: app is not running\n');
  t.equal(r.exitCode, 0);
});

t.test('actions that only read create nothing: no lock file, no directory', async (t) => {
  const box = sandbox(t);
  const missing = join(box.dir, 'run', 'app.pid');
  for (const pidFile of [box.pidFile, missing]) {
    const p = ['--pid-file', pidFile, '--name', 'app'];
    t.equal((await box.cli(['stop', ...p])).stderr, 'WARNING: app is not running\n');
    t.equal((await box.cli(['status', ...p])).exitCode, 3);
    t.equal((await box.cli(['reload', ...p])).stderr, 'ERROR: app is not running\n');
  }
  t.equal((await box.cli(['list', '--pid-dir', box.dir])).exitCode, 0);
  t.same(readdirSync(box.dir), [], 'no lock file, no directory');
  // The default pid file's place (shared as root): a name never started leaves no trace there.
  const name = `neverstarted-${process.pid}`;
  const env = process.getuid?.() === 0 ? box.env : { ...box.env, XDG_RUNTIME_DIR: join(box.dir, 'xdg') };
  const dir = process.getuid?.() === 0 ? '/run/daemonocle' : join(box.dir, 'xdg', 'daemonocle');
  t.equal((await box.cli(['stop', '--name', name], { env })).stderr, `WARNING: ${name} is not running\n`);
  t.notOk(existsSync(join(dir, `${name}.pid.lock`)), 'no lock file in the default place');
  if (process.getuid?.() !== 0) t.notOk(existsSync(dir), 'nor the default directory');
});

t.test('stop of a stale pid file clears it and its lock file; a left-over lock file alone is removed too', async (t) => {
  const box = sandbox(t);
  writeFileSync(box.pidFile, '999999\n');
  writeFileSync(`${box.pidFile}.lock`, '');
  const r = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(r.stderr, 'WARNING: app is not running\n');
  t.same(readdirSync(box.dir), [], 'both gone');
  writeFileSync(`${box.pidFile}.lock`, '');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app'])).exitCode, 0);
  t.same(readdirSync(box.dir), [], 'the left-over lock file gone');
});

t.test('stop: a process ignoring SIGTERM times out and is left alive', async (t) => {
  const box = sandbox(t);
  const out = `${box.dir}/out.log`;
  const pid = await startFixture(box, [fixture('ignore-term.js')], ['--stdout', out]);
  await waitFor('fixture ready', () => readFileSync(out, 'utf8').includes('ready'));
  const started = Date.now();
  const r = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'stubborn', '--stop-timeout', '0.5']);
  t.ok(Date.now() - started >= 500, 'waited the timeout');
  t.equal(r.stdout, 'Stopping stubborn ... FAILED\n');
  t.equal(r.stderr, `ERROR: Timed out while waiting for process (PID ${pid}) to terminate\n`);
  t.equal(r.exitCode, 1);
  t.ok(alive(pid), 'no SIGKILL: still alive');
  t.ok(existsSync(box.pidFile), 'still tracked');
  t.match(readFileSync(out, 'utf8'), /got SIGTERM, ignoring/, 'it did get SIGTERM');

  const forced = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'stubborn', '--stop-timeout', '0.3', '--force']);
  t.equal(forced.stdout, 'Stopping stubborn ... OK\n');
  t.equal(forced.stderr, `WARNING: stubborn (PID ${pid}) did not stop in 0.3 s and was killed with SIGKILL\n`);
  t.equal(forced.exitCode, 0);
  t.notOk(alive(pid));
  t.notOk(existsSync(box.pidFile));
});

t.test('stop --signal-group stops the whole process group', async (t) => {
  const box = sandbox(t);
  const { pid, members } = await startWorkers(box, 3);
  t.equal(members.length, 4, 'leader + 3 workers');
  t.equal(members[0], pid);
  t.ok(members.every(alive));
  const r = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'pool', '--signal-group']);
  t.equal(r.stdout, 'Stopping pool ... OK\n');
  t.equal(r.exitCode, 0);
  t.same(members.filter(alive), [], 'every member gone when stop returned');
  t.same(box.processes(), []);
});

t.test('stop without --signal-group signals the daemon first, then what it left of its service (issue 30)', async (t) => {
  const box = sandbox(t);
  const { pid, members } = await startWorkers(box, 2);
  const workers = members.slice(1);
  const r = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'pool']);
  t.equal(r.stdout, 'Stopping pool ... OK\n');
  t.equal(r.exitCode, 0);
  t.notOk(alive(pid));
  t.same(workers.filter(alive), [], 'the workers it left ended too: OK means nothing of the service runs');
});
