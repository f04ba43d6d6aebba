// `status --tree` and a live `start` on a terminal, as a user sees them: the tree of a daemon with
// workers, a grandchild and a setsid'd descendant; the progress line on a real pseudo-terminal,
// and byte-for-byte plain output everywhere else.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeNode as Node } from '../dist/process/tree.js';
import { alive, BIN, fixture, libAppEnv, onTerminal, readPid, ROOT, RUNTIME, sandbox, stat, waitFor, type Sandbox } from './helpers.js';


/** A daemon (sh) with two workers, a grandchild under one of them, and a setsid'd child. */
async function family(t: Test, box: Sandbox) {
  const pids = join(box.dir, 'pids');
  const script = `sleep 1000 & w1=$!; (sleep 1001 & echo "g $!" >> ${pids}; wait) & w2=$!; setsid sleep 1002 & s=$!; echo "w $w1 $w2 s $s" >> ${pids}; wait`;
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'fam', '--grace', '0.2', '--', 'sh', '-c', script]);
  t.equal(start.exitCode, 0, start.stderr);
  await waitFor('the family to be born', () => {
    try {
      return /^g \d+$/m.test(readFileSync(pids, 'utf8')) && /^w \d+ \d+ s \d+$/m.test(readFileSync(pids, 'utf8'));
    } catch {
      return false;
    }
  });
  const text = readFileSync(pids, 'utf8');
  const [, w1, w2, s] = /^w (\d+) (\d+) s (\d+)$/m.exec(text)!.map(Number);
  const g = Number(/^g (\d+)$/m.exec(text)![1]);
  return { daemon: readPid(box.pidFile), w1: w1!, w2: w2!, g, s: s!, script };
}

t.test('status --tree: every process once, under its parent, the setsid one marked', async (t) => {
  const box = sandbox(t);
  const f = await family(t, box);
  const plain = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'fam']);
  const r = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'fam', '--tree']);
  t.equal(r.exitCode, 0);
  const [first, ...tree] = r.stdout.trimEnd().split('\n');
  t.match(first, /^fam -- pid: \d+, status: \w+, uptime: \d+s, %cpu: \d+\.\d, %mem: \d+\.\d$/, 'the usual line first');
  t.equal(plain.stdout.split('\n').length, 2, 'plain status: still one line');
  const row = (pid: number) => tree.find((l) => new RegExp(`^[│├└─ ]*${pid} `).test(l));
  t.match(row(f.daemon), new RegExp(`^${f.daemon} \\w+ \\d+\\.\\d% cpu \\d+\\.\\d% mem sh -c `), 'the daemon is the root');
  t.ok(row(f.daemon)!.endsWith(f.script), 'into a pipe, the whole command line: never cut');
  t.match(row(f.w1), new RegExp(`^├─${f.w1} \\w+ .* sleep 1000$`), 'a worker under the daemon');
  t.match(row(f.w2), new RegExp(`^├─${f.w2} `), 'the subshell under the daemon');
  t.match(row(f.g), new RegExp(`^│ └─${f.g} \\w+ .* sleep 1001$`), 'the grandchild under the subshell');
  t.match(row(f.s), new RegExp(`^└─${f.s} \\w+ .*% mem \\(own group\\) sleep 1002$`), 'the setsid child, marked');
  t.equal(tree.length, 5, 'five processes');
  const pidOf = (line: string) => Number(/^[│├└─ ]*(\d+) /.exec(line)?.[1]);
  t.same(tree.map(pidOf).sort((a, b) => a - b), [f.daemon, f.w1, f.w2, f.g, f.s].sort((a, b) => a - b), 'each pid exactly once');
  t.ok(tree.indexOf(row(f.g)!) === tree.indexOf(row(f.w2)!) + 1, 'the grandchild right below its parent');

  const json = JSON.parse((await box.cli(['status', '--pid-file', box.pidFile, '--name', 'fam', '--tree', '--json'])).stdout);
  const roots = json.tree as Node[];
  t.equal(roots.length, 1);
  const root = roots[0]!;
  t.equal(root.pid, f.daemon);
  t.same(root.children.map((c) => c.pid), [f.w1, f.w2, f.s].sort((a, b) => a - b), 'the daemon\'s children');
  const sub = root.children.find((c) => c.pid === f.w2)!;
  t.same(sub.children.map((c) => c.pid), [f.g], 'nested: the grandchild under the subshell');
  t.same(Object.keys(sub.children[0]!), ['pid', 'ppid', 'pgid', 'status', 'cpu_percent', 'memory_percent', 'command', 'children']);
  const setsid = root.children.find((c) => c.pid === f.s)!;
  t.not(setsid.pgid, root.pgid, 'the setsid child has its own group');
  t.ok(json.pids.includes(f.s), 'and is in the sums: it is of the service (issue 30)');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'fam', '--signal-group'])).exitCode, 0);
  t.ok(!alive(f.s) || stat(f.s)?.state === 'Z', 'the group stop ended the setsid child too');
});

t.test('status --tree on a terminal: lines cut to its width', async (t) => {
  const box = sandbox(t);
  await family(t, box);
  const session = onTerminalOfWidth(t, box, 40, `${RUNTIME} ${BIN} status --pid-file ${box.pidFile} --name fam --tree`);
  if (!session) return;
  await session.term;
  const lines = session.out().trimEnd().split('\n').slice(1);
  t.ok(lines.length >= 5, 'the tree is there');
  for (const line of lines) t.ok([...line].length <= 40, `cut: ${line}`);
  await box.cli(['stop', '--pid-file', box.pidFile, '--signal-group']);
});

/** A terminal `cols` wide running `command` (written to a script file: no quoting to get wrong). */
function onTerminalOfWidth(t: Parameters<typeof onTerminal>[0], box: Sandbox, cols: number, command: string, env: Record<string, string> = {}) {
  const file = join(box.dir, `term-${cols}-${Date.now()}.sh`);
  writeFileSync(file, `stty cols ${cols}\nexec ${command}\n`);
  return onTerminal(t, box, `/bin/sh ${file}`, env);
}

const notifyScript = "systemd-notify --status='Loading 3/10 models'; sleep 2; systemd-notify --ready; exec sleep 1000";

t.test('start on a terminal: the line shows the wait, the STATUS= text and the seconds, then OK', async (t) => {
  const box = sandbox(t);
  const cmd = `${RUNTIME} ${BIN} start --pid-file ${box.pidFile} --name svc --notify -- sh -c "${notifyScript}"`;
  const session = onTerminal(t, box, cmd, {});
  if (!session) return;
  const r = await session.term;
  t.equal(r.exitCode, 0);
  const raw = session.raw();
  t.match(raw, /\r\x1b\[2KStarting svc \.\.\. \d+\.\d s · waiting for READY=1 · "Loading 3\/10 models"/, 'what it waits for, and the daemon\'s own words');
  const seconds = [...raw.matchAll(/(\d+\.\d) s ·/g)].map((m) => Number(m[1]));
  t.ok(seconds.length >= 5 && seconds.at(-1)! >= 1.5, `the seconds count up (${seconds.at(-1)})`);
  t.ok(seconds.length <= Math.ceil(seconds.at(-1)! * 10) + 2, 'at most 10 redraws a second');
  t.match(raw, /\r\x1b\[2KStarting svc \.\.\. OK\r?\n$/, 'replaced by the final line');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
});

t.test('the same start into a pipe or with TERM=dumb: byte for byte the plain line', async (t) => {
  const box = sandbox(t);
  const piped = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'svc', '--notify', '--', 'sh', '-c', notifyScript]);
  t.equal(piped.stdout, 'Starting svc ... OK\n');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
  const cmd = `${RUNTIME} ${BIN} start --pid-file ${box.pidFile} --name svc --grace 0.5 -- sleep 1000`;
  const session = onTerminal(t, box, cmd, { TERM: 'dumb' });
  if (!session) return;
  await session.term;
  t.equal(session.raw(), 'Starting svc ... OK\r\n', 'TERM=dumb on a terminal: no escape codes');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
});

t.test('probes on a terminal: each shown, and ticked once it answers', async (t) => {
  const box = sandbox(t);
  const flag = join(box.dir, 'flag');
  const cmd = `${RUNTIME} ${BIN} start --pid-file ${box.pidFile} --name web --ready-file ${flag} --ready-cmd 'test -e ${flag}.2' -- sh -c 'sleep 0.5; touch ${flag}; sleep 0.5; touch ${flag}.2; exec sleep 1000'`;
  const session = onTerminalOfWidth(t, box, 400, cmd);
  if (!session) return;
  await session.term;
  const raw = session.raw();
  t.match(raw, new RegExp(`waiting for ${flag.replaceAll('/', '\\/')} not yet, 'test -e `), 'both probes listed, not yet');
  t.match(raw, new RegExp(`waiting for ${flag.replaceAll('/', '\\/')} ✓, 'test -e [^']+' not yet`), 'the file ticked first');
  t.match(raw, /Starting web \.\.\. OK\r?\n$/);
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
});

t.test("the library: doAction('status', ['--tree']) and cli(['status', '--tree'])", async (t) => {
  const box = sandbox(t);
  const env = libAppEnv(box);
  t.equal((await box.node(fixture('lib-app.js'), ['start'], { env })).exitCode, 0);
  const viaCli = await box.node(fixture('lib-app.js'), ['status', '--tree'], { env });
  t.equal(viaCli.exitCode, 0, viaCli.stderr);
  const lines = viaCli.stdout.trimEnd().split('\n');
  t.match(lines[1], new RegExp(`^${readPid(box.pidFile)} \\w+ .* mem .*lib-app\\.js`), 'the worker process as the root of the tree');
  const script = join(box.dir, 'status-tree.mjs');
  writeFileSync(script, `import { Daemon } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
const daemon = new Daemon({ name: 'lib', pidFile: process.env.APP_PID_FILE, worker: () => {} });
process.exitCode = await daemon.doAction('status', ['--tree']);
`);
  const viaDoAction = await box.node(script, [], { env });
  t.equal(viaDoAction.exitCode, 0, viaDoAction.stderr);
  t.match(viaDoAction.stdout.split('\n')[1], new RegExp(`^${readPid(box.pidFile)} \\w+ .* mem .*lib-app\\.js`), 'the same tree');
  t.equal((await box.node(fixture('lib-app.js'), ['stop'], { env })).exitCode, 0);
});
