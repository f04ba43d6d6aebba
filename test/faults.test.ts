// A start interrupted at any moment leaves a tracked daemon or none.
import t from 'tap';
import { existsSync } from 'node:fs';
import { alive, readPid, sandbox, waitFor } from './helpers.js';

for (const signal of ['SIGKILL', 'SIGINT', 'SIGTERM'] as const) {
  t.test(`start killed by ${signal} during the startup window leaves the daemon tracked`, async (t) => {
    const box = sandbox(t);
    const caller = box.spawn(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '30', '--', 'sleep', '1000'], { stripFinalNewline: false });
    await waitFor('the pid file', () => existsSync(box.pidFile));
    const pid = readPid(box.pidFile);
    // During the startup check, status already reports the daemon.
    const during = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
    t.match(during.stdout, `app -- pid: ${pid}, status: `);
    t.equal(during.exitCode, 0);
    caller.kill(signal);
    const r = await caller;
    if (signal === 'SIGKILL') {
      t.equal(r.signal, 'SIGKILL');
    } else {
      t.equal(r.stdout, 'Starting app ... interrupted\n');
      t.match(r.stderr, `WARNING: start interrupted by ${signal}; check with: daemonocle status --pid-file ${box.pidFile}`);
      t.equal(r.exitCode, signal === 'SIGINT' ? 130 : 143);
    }
    t.ok(alive(pid), 'the daemon lives on');
    t.same(box.processes(), [pid], 'and it is the only one');
    const st = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
    t.equal(st.exitCode, 0, 'tracked: status reports it');
    const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
    t.equal(stop.stdout, 'Stopping app ... OK\n');
  });
}

t.test('a daemon killed -9 leaves a stale pid file that status reports and start replaces', async (t) => {
  const box = sandbox(t);
  const args = ['--pid-file', box.pidFile, '--name', 'app'];
  t.equal((await box.cli(['start', ...args, '--grace', '0.2', '--', 'sleep', '1000'])).exitCode, 0);
  const pid = readPid(box.pidFile);
  process.kill(pid, 'SIGKILL');
  await waitFor('death', () => !alive(pid));
  const st = await box.cli(['status', ...args]);
  t.equal(st.stdout, 'app -- not running\n');
  t.equal(st.exitCode, 1);
  const start = await box.cli(['start', ...args, '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stdout, 'Starting app ... OK\n');
  t.not(readPid(box.pidFile), pid);
});
