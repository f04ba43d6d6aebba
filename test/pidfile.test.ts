// The pid file is the truth, checked: nothing that is not the daemon is ever signalled.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, readPid, requireRoot, sandbox, stat, waitFor, type Sandbox } from './helpers.js';

/** A bystander process the tool must never signal; killed by the test's teardown. */
function bystander(t: Test, env: NodeJS.ProcessEnv) {
  const child = spawn('sleep', ['1000'], { env, stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return child.pid!;
}

/** status says "not running" (exit 1) and stop warns and signals nothing (exit 0). */
async function notRunningAndUntouched(t: Test, box: Sandbox, label = '') {
  const st = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(st.stdout, 'app -- not running\n', `${label}status says not running`);
  t.equal(st.exitCode, 1, `${label}status exit 1`);
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(stop.stderr, 'WARNING: app is not running\n', `${label}stop warns, signals nothing`);
  t.equal(stop.exitCode, 0, `${label}stop exit 0`);
}

t.test('a dead pid: not running, nothing signalled, start replaces it', async (t) => {
  const box = sandbox(t);
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  writeFileSync(box.pidFile, `${dead.pid}\n`);
  await notRunningAndUntouched(t, box);
  t.notOk(existsSync(box.pidFile), 'stop removed the stale pid file');
  writeFileSync(box.pidFile, `${dead.pid}\n`);
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stdout, 'Starting app ... OK\n');
  t.not(readPid(box.pidFile), dead.pid);
});

t.test('a zombie is not running and is not signalled', async (t) => {
  const box = sandbox(t);
  // sh forks a child that waits for a byte on fd 3, then execs a sleep that never reaps. The byte is
  // sent only once the exec is seen, so the shell cannot reap the child first: a zombie, every time.
  const parent = spawn('sh', ['-c', 'head -c1 <&3 >/dev/null & echo $!; exec sleep 1000 3<&-'], {
    env: box.env,
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  t.teardown(() => {
    parent.kill('SIGKILL');
  });
  const zombie = await new Promise<number>((resolve) => parent.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  await waitFor('the shell to exec sleep', () => readFileSync(`/proc/${parent.pid}/comm`, 'utf8') === 'sleep\n');
  (parent.stdio[3] as NodeJS.WritableStream).end('x');
  await waitFor('zombie', () => stat(zombie)?.state === 'Z');
  writeFileSync(box.pidFile, `${zombie}\n${stat(zombie)!.startTime}\n`);
  await notRunningAndUntouched(t, box);
});

t.test('pid reuse: a live process that is not the daemon is not running and not signalled', async (t) => {
  const box = sandbox(t);
  const other = bystander(t, box.env);
  await waitFor('bystander', () => alive(other));
  // Recorded start time differs: the pid was reused.
  writeFileSync(box.pidFile, `${other}\n${stat(other)!.startTime - 1}\n`);
  await notRunningAndUntouched(t, box);
  t.ok(alive(other), 'the bystander was not signalled');

  // A pid file this tool did not write (pid only): a process that started after its mtime is not the daemon.
  writeFileSync(box.pidFile, `${other}\n`);
  const hourAgo = Date.now() / 1000 - 3600;
  utimesSync(box.pidFile, hourAgo, hourAgo);
  const foreign = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(foreign.exitCode, 1);
  const foreignStop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(foreignStop.exitCode, 0);
  t.ok(alive(other), 'still not signalled');

  // ...whereas a foreign pid file written after the process started is trusted.
  writeFileSync(box.pidFile, `${other}\n`);
  const trusted = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(trusted.exitCode, 0);
  t.match(trusted.stdout, `app -- pid: ${other}, status: sleeping`);
});

t.test('broken pid files are never signalled and never crash the tool', async (t) => {
  const box = sandbox(t);
  const cases: [string, string | Buffer][] = [
    ['empty', ''],
    ['pid 0', '0\n'],
    ['pid 1', '1\n'],
    ['negative', '-5\n'],
    ['garbage', 'hello world\n'],
    ['huge number', '99999999999999999999\n'],
    ['huge file', Buffer.alloc(8 * 1024 * 1024, 0x37)],
    ['binary', Buffer.from([0, 1, 2, 255, 10])],
    ['bad start time', `${process.pid}\nnot-a-number\n`],
  ];
  for (const [label, content] of cases) {
    writeFileSync(box.pidFile, content);
    const st = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
    t.equal(st.stdout, 'app -- not running\n', `${label}: status says not running`);
    t.equal(st.stderr, `WARNING: Broken pid file ${box.pidFile}\n`, `${label}: warned`);
    t.equal(st.exitCode, 1, `${label}: status exit 1`);
    const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
    t.equal(stop.stderr, `WARNING: Broken pid file ${box.pidFile}\nWARNING: app is not running\n`, `${label}: stop signals nothing`);
    t.equal(stop.exitCode, 0, `${label}: stop exit 0`);
  }
  writeFileSync(box.pidFile, '1\n');
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stdout, 'Starting app ... OK\n', 'start replaces a broken pid file');
  t.equal(start.exitCode, 0);
  t.ok(alive(readPid(box.pidFile)));
});

t.test('a symlinked pid file is not written through and not trusted', async (t) => {
  const box = sandbox(t);
  const target = join(box.dir, 'target');
  writeFileSync(target, 'precious\n');
  symlinkSync(target, box.pidFile);
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--', 'sleep', '1000']);
  t.equal(start.stderr, `ERROR: Cannot use pid file ${box.pidFile}: it is a symbolic link\n`);
  t.equal(start.exitCode, 1);
  t.equal(readFileSync(target, 'utf8'), 'precious\n', 'target untouched');
  t.same(box.processes(), [], 'nothing started');
  const st = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(st.exitCode, 4);
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(stop.exitCode, 1);
  t.match(stop.stderr, /^ERROR: .*symbolic link/);
});

t.test('a pid file naming the caller or an ancestor is refused', async (t) => {
  const box = sandbox(t);
  // The test process is an ancestor of the CLI it runs.
  writeFileSync(box.pidFile, `${process.pid}\n${stat(process.pid)!.startTime}\n`);
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(stop.exitCode, 1);
  t.match(stop.stderr, /^ERROR: Pid file .* names this process or one of its ancestors/);
  t.ok(alive(process.pid));
});

t.test('as root, a pid file owned by another user is not trusted', async (t) => {
  const box = sandbox(t);
  if (!requireRoot(t)) return;
  const other = bystander(t, box.env);
  await waitFor('bystander', () => alive(other));
  writeFileSync(box.pidFile, `${other}\n${stat(other)!.startTime}\n`);
  chownSync(box.pidFile, 65534, 65534);
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(stop.stderr, `ERROR: Cannot use pid file ${box.pidFile}: it is owned by uid 65534, not root; refusing to trust it\n`);
  t.equal(stop.exitCode, 1);
  t.ok(alive(other), 'nothing signalled');
  const st = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(st.exitCode, 4);
});
