import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fixture, readPid, sandbox, waitFor } from './helpers.js';

t.test('status: the line format, and --json', async (t) => {
  const box = sandbox(t);
  const s = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(s.exitCode, 0);
  const pid = readPid(box.pidFile);
  const r = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'napper']);
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, '');
  t.match(r.stdout, new RegExp(`^napper -- pid: ${pid}, status: sleeping, uptime: [0-9]s, %cpu: \\d+\\.\\d, %mem: \\d+\\.\\d\\n$`));

  const j = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'napper', '--json']);
  t.equal(j.exitCode, 0);
  const obj = JSON.parse(j.stdout);
  t.same(Object.keys(obj), ['cpu_percent', 'memory_percent', 'name', 'pid', 'pids', 'status', 'uptime']);
  t.equal(obj.pid, pid);
  t.same(obj.pids, [pid]);
  t.equal(obj.name, 'napper');
  t.equal(obj.status, 'sleeping');
  t.type(obj.uptime, 'number');
  t.type(obj.cpu_percent, 'number');
});

t.test('status: cpu and memory are summed over the process group', async (t) => {
  const box = sandbox(t);
  const out = `${box.dir}/out.log`;
  const s = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.2', '--stdout', out, '--', fixture('workers.js'), '2', 'busy']);
  t.equal(s.exitCode, 0);
  await waitFor('workers', () => /^ready /.test(readFileSync(out, 'utf8')));
  const members = readFileSync(out, 'utf8').trim().split(' ').slice(1).map(Number).sort((a, b) => a - b);
  // The sample is 0.1 s on a machine that other test files share: take the best of three reads.
  const reads = [];
  for (let i = 0; i < 3; i++) {
    reads.push(JSON.parse((await box.cli(['status', '--pid-file', box.pidFile, '--json'])).stdout));
    if (reads.at(-1).cpu_percent > 130) break;
  }
  const obj = reads.at(-1);
  t.same(obj.pids, members, 'pids: the whole group');
  const best = Math.max(...reads.map((r) => r.cpu_percent));
  t.ok(best > 130, `two busy workers on two cores: ${reads.map((r) => r.cpu_percent).join('%, ')}% (best > 130%)`);
  t.ok(obj.memory_percent > 0, 'memory counted');
  const line = await box.cli(['status', '--pid-file', box.pidFile]);
  t.match(line.stdout, new RegExp(`^app -- pid: ${readPid(box.pidFile)}, status: \\S+, uptime: \\d+s, %cpu: \\d+\\.\\d, %mem: \\d+\\.\\d\\n$`));
});

t.test('status: not running (3), stale (1), unreadable (4)', async (t) => {
  const box = sandbox(t);
  const none = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(none.stdout, 'app -- not running\n');
  t.equal(none.exitCode, 3);
  const noneJson = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app', '--json']);
  t.same(JSON.parse(noneJson.stdout), { name: 'app', pid: null, status: 'not running' });
  t.equal(noneJson.exitCode, 3);

  writeFileSync(box.pidFile, '4194000\n');
  const stale = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(stale.stdout, 'app -- not running\n');
  t.equal(stale.exitCode, 1);
  t.equal(readFileSync(box.pidFile, 'utf8'), '4194000\n', 'status never writes');

  const dirPid = `${box.dir}/dir.pid`;
  mkdirSync(dirPid);
  const unreadable = await box.cli(['status', '--pid-file', dirPid, '--name', 'app']);
  t.equal(unreadable.stdout, '');
  t.equal(unreadable.stderr, `ERROR: Cannot use pid file ${dirPid}: it is a directory\n`);
  t.equal(unreadable.exitCode, 4);
});

t.test('status: uptime formats', async (t) => {
  const { formatUptime } = await import('../dist/status.js');
  t.equal(formatUptime(45.9), '45s');
  t.equal(formatUptime(12 * 60 + 59), '12m');
  t.equal(formatUptime(3 * 3600 + 4 * 60 + 5), '3h 4m');
  t.equal(formatUptime(12 * 86400 + 3 * 3600 + 4 * 60), '12d 3h 4m');
});
