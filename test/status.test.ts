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
  t.same(Object.keys(obj), ['cpu_percent', 'memory_percent', 'name', 'pid', 'pids', 'status', 'tracking', 'uptime']);
  t.equal(obj.tracking, 'marker', 'how the service is found (issue 30)');
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
  // One read with --tree gives the per-process figures of the same sample the sums come from, so
  // the sums can be checked exactly, however loaded the machine (a 0.1 s sample on a busy 2-core
  // runner may give each worker 20% or 90%). A second read only if a worker got no CPU at all.
  type Node = { pid: number; cpu_percent: number; memory_percent: number; children: Node[] };
  const flat = (nodes: Node[]): Node[] => nodes.flatMap((n) => [n, ...flat(n.children)]);
  let obj;
  let nodes: Node[] = [];
  for (let i = 0; i < 5; i++) {
    obj = JSON.parse((await box.cli(['status', '--pid-file', box.pidFile, '--json', '--tree'])).stdout);
    nodes = flat(obj.tree);
    if (nodes.filter((n) => members.slice(1).includes(n.pid)).every((n) => n.cpu_percent > 0)) break;
  }
  t.same(obj.pids, members, 'pids: the whole group');
  t.same(nodes.map((n) => n.pid).sort((a, b) => a - b), members, 'the tree: the same processes');
  const total = (key: 'cpu_percent' | 'memory_percent') => nodes.reduce((acc, n) => acc + n[key], 0);
  t.ok(Math.abs(obj.cpu_percent - total('cpu_percent')) <= 0.05 + 0.1 * nodes.length, `%cpu ${obj.cpu_percent} = the members' sum ${total('cpu_percent').toFixed(2)}`);
  t.ok(Math.abs(obj.memory_percent - total('memory_percent')) <= 0.05 + 0.1 * nodes.length, `%mem ${obj.memory_percent} = the members' sum ${total('memory_percent').toFixed(2)}`);
  const top = Math.max(...nodes.map((n) => n.cpu_percent));
  t.ok(obj.cpu_percent > top, `the busy workers add up: ${obj.cpu_percent}% > the busiest one's ${top}%`);
  t.ok(obj.memory_percent > Math.max(...nodes.map((n) => n.memory_percent)), 'memory summed too');
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
  const { formatUptime } = await import('../dist/process/sample.js');
  t.equal(formatUptime(45.9), '45s');
  t.equal(formatUptime(12 * 60 + 59), '12m');
  t.equal(formatUptime(3 * 3600 + 4 * 60 + 5), '3h 4m');
  t.equal(formatUptime(12 * 86400 + 3 * 3600 + 4 * 60), '12d 3h 4m');
});
