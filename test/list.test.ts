// `daemonocle list`: every daemon of a pid directory at a glance, as a user sees it.
import t from 'tap';
import { chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, readPid, requireRoot, sandbox, type Sandbox } from './helpers.js';

async function startIn(box: Sandbox, dir: string, name: string) {
  const r = await box.cli(['start', '--pid-file', join(dir, `${name}.pid`), '--name', name, '--grace', '0.1', '--', 'sleep', '1000']);
  if (r.exitCode !== 0) throw new Error(r.stderr);
}

t.test('running, stale, broken and symlinked pid files side by side, sorted by name', async (t) => {
  const box = sandbox(t);
  const dir = join(box.dir, 'pids');
  mkdirSync(dir, { mode: 0o755 });
  await startIn(box, dir, 'web');
  await startIn(box, dir, 'worker');
  writeFileSync(join(dir, 'cron.pid'), '999999\n');
  writeFileSync(join(dir, 'broken.pid'), 'garbage\n');
  writeFileSync(join(box.dir, 'elsewhere.pid'), `${readPid(join(dir, 'web.pid'))}\n`);
  symlinkSync(join(box.dir, 'elsewhere.pid'), join(dir, 'linked.pid'));
  writeFileSync(join(dir, 'notes.txt'), 'not a pid file\n');
  const before = Object.fromEntries(['cron', 'broken'].map((n) => [n, readFileSync(join(dir, `${n}.pid`), 'utf8')]));

  const r = await box.cli(['list', '--pid-dir', dir]);
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^NAME\s+PID\s+STATUS\s+UPTIME\s+%CPU\s+%MEM$/);
  t.same(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['broken', 'cron', 'linked', 'web', 'worker'], 'sorted by name; only *.pid');
  const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))!;
  const web = readPid(join(dir, 'web.pid'));
  t.match(row('web'), new RegExp(`^web\\s+${web}\\s+sleeping\\s+\\d+s\\s+\\d+\\.\\d\\s+\\d+\\.\\d$`));
  t.match(row('worker'), /^worker\s+\d+\s+sleeping\s+/);
  t.match(row('cron'), /^cron\s+-\s+not running\s+-\s+-\s+-$/);
  t.match(row('broken'), /^broken\s+-\s+broken pid file\s+-\s+-\s+-$/);
  t.match(row('linked'), /^linked\s+-\s+refused: it is a symbolic link\s+-\s+-\s+-$/);
  const columns = lines.map((l) => l.indexOf(l.split(/\s+/)[1]!));
  t.equal(new Set(columns).size, 1, 'the PID column is aligned');
  t.same(Object.fromEntries(['cron', 'broken'].map((n) => [n, readFileSync(join(dir, `${n}.pid`), 'utf8')])), before, 'nothing rewritten or removed');
  t.ok(alive(web), 'nothing signalled');

  const json = JSON.parse((await box.cli(['list', '--pid-dir', dir, '--json'])).stdout) as Record<string, unknown>[];
  t.same(json.map((o) => o.name), ['broken', 'cron', 'linked', 'web', 'worker']);
  const status = JSON.parse((await box.cli(['status', '--pid-file', join(dir, 'web.pid'), '--name', 'web', '--json'])).stdout);
  const listed = json.find((o) => o.name === 'web')!;
  t.same(Object.keys(listed), Object.keys(status), 'the same object as status --json');
  t.equal(listed.pid, status.pid);
  t.same(json.find((o) => o.name === 'cron'), { name: 'cron', pid: null, status: 'not running' });
  for (const name of ['web', 'worker']) t.equal((await box.cli(['stop', '--pid-file', join(dir, `${name}.pid`)])).exitCode, 0);
});

t.test('an empty directory, and a missing or unreadable one', async (t) => {
  const box = sandbox(t);
  const empty = join(box.dir, 'empty');
  mkdirSync(empty);
  const r = await box.cli(['list', '--pid-dir', empty]);
  t.equal(r.stdout, `no daemons in ${empty}\n`);
  t.equal(r.exitCode, 0);
  t.equal((await box.cli(['list', '--pid-dir', empty, '--json'])).stdout, '[]\n');
  const missing = join(box.dir, 'missing');
  const m = await box.cli(['list', '--pid-dir', missing]);
  t.equal(m.exitCode, 4);
  t.equal(m.stderr, `ERROR: Cannot read pid directory ${missing}: no such file or directory\n`);
  t.equal(m.stdout, '');
  const file = join(box.dir, 'file');
  writeFileSync(file, '');
  t.equal((await box.cli(['list', '--pid-dir', file])).exitCode, 4, 'not a directory: 4');
});

t.test('the default directory, with XDG_RUNTIME_DIR pointed at a temp dir', async (t) => {
  if (process.getuid?.() === 0) {
    // As root the default is /run/daemonocle: list it without touching what is there.
    const box = sandbox(t);
    const r = await box.cli(['list']);
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stdout, /^(no daemons in \/run\/daemonocle\n|NAME\s+PID)/);
    return;
  }
  const box = sandbox(t);
  const runtime = join(box.dir, 'xdg');
  mkdirSync(runtime, { mode: 0o700 });
  const env = { ...box.env, XDG_RUNTIME_DIR: runtime };
  t.equal((await box.cli(['list'], { env })).stdout, `no daemons in ${join(runtime, 'daemonocle')}\n`);
  t.equal((await box.cli(['start', '--name', 'app', '--grace', '0.1', '--', 'sleep', '1000'], { env })).exitCode, 0);
  const r = await box.cli(['list'], { env });
  t.match(r.stdout.split('\n')[1], /^app\s+\d+\s+sleeping\s+/);
  t.equal((await box.cli(['stop', '--name', 'app'], { env })).exitCode, 0);
});

t.test('as root: a pid file owned by another user is listed with its reason and left alone', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const dir = join(box.dir, 'pids');
  mkdirSync(dir, { mode: 0o755 });
  await startIn(box, dir, 'mine');
  const victim = readPid(join(dir, 'mine.pid'));
  const planted = join(dir, 'planted.pid');
  writeFileSync(planted, `${victim}\n`);
  chownSync(planted, 4242, 4242);
  const r = await box.cli(['list', '--pid-dir', dir]);
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /\nplanted\s+-\s+refused: it is owned by uid 4242, not root\s+-\s+-\s+-\n/);
  t.equal(readFileSync(planted, 'utf8'), `${victim}\n`, 'left as it was');
  t.ok(alive(victim));
  t.equal((await box.cli(['stop', '--pid-file', join(dir, 'mine.pid')])).exitCode, 0);
});
