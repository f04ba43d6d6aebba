// The whole service (issue 30): `stop` ends every process that descends from the daemon, including
// ones that left its group or session, were re-parented or double-forked, and says OK only when
// none is left (read from /proc here, not from the tool); `status` and `list` cover the same set;
// a forged marker and a reused pid are never signalled; `run` names (and with --subreaper ends)
// what its command left; the library's stop does the same. Real processes, events not sleeps.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { alive, fixture, readPid, requireRoot, sandbox, stat, waitFor, type Sandbox } from './helpers.js';

const README_EXAMPLE = ['sh', '-c', 'sleep 1000 & (sleep 1001 & wait) & setsid sleep 1002 & wait'];

async function start(box: Sandbox, command: string[], extra: string[] = []): Promise<number> {
  const r = await box.cli(['start', '--name', 'fam', '--pid-file', box.pidFile, '--grace', '0.3', ...extra, '--', ...command]);
  if (r.exitCode !== 0) throw new Error(`start failed: ${r.stdout}${r.stderr}`);
  return readPid(box.pidFile);
}

const cli = (box: Sandbox, action: string, ...extra: string[]) => box.cli([action, '--name', 'fam', '--pid-file', box.pidFile, ...extra]);

/** The service's marker as `start` gives it: `<pid>-<start time>` from the pid file. */
const markerOf = (box: Sandbox) => readFileSync(box.pidFile, 'utf8').trim().split('\n').join('-');

/** Live (not zombie) processes running `sleep N`, from /proc. */
const sleeping = (box: Sandbox, n: number) =>
  box.processes().filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'latin1') === `sleep\0${n}\0`;
    } catch {
      return false;
    }
  });

/** A process of the test's own (no marker unless given), with the sandbox's token so teardown ends it. */
function foreign(t: Test, box: Sandbox, argv: string[], env: Record<string, string> = {}): ChildProcess {
  const proc = spawn(argv[0]!, argv.slice(1), { env: { ...box.env, ...env }, stdio: 'ignore' });
  t.teardown(() => {
    proc.kill('SIGKILL');
  });
  return proc;
}

t.test("the README's example: stop ends all four processes of the service, and says OK only then", async (t) => {
  const box = sandbox(t);
  const pid = await start(box, README_EXAMPLE);
  await waitFor('the three sleeps', () => [1000, 1001, 1002].every((n) => sleeping(box, n).length === 1));
  const all = box.processes();
  t.equal(all.length, 5, 'the shell, its subshell and three sleeps');
  const setsid = sleeping(box, 1002)[0]!;
  t.not(stat(setsid)!.pgrp, stat(pid)!.pgrp, 'one left the group (and the session)');

  const s = await cli(box, 'status', '--json');
  const status = JSON.parse(s.stdout) as { pids: number[]; tracking: string };
  t.same(status.pids, [...all].sort((a, b) => a - b), 'status counts every process of the service');
  t.equal(status.tracking, 'marker');

  const r = await cli(box, 'stop');
  t.equal(r.stdout, 'Stopping fam ... OK\n');
  t.equal(r.stderr, '');
  t.equal(r.exitCode, 0);
  t.same(box.processes(), [], 'nothing of the service runs when stop said OK');
  t.notOk(existsSync(box.pidFile), 'pid file removed');
});

t.test('a double-forked grandchild and a child that called setsid are of the service: shown, counted, stopped', async (t) => {
  const box = sandbox(t);
  // (sleep &) leaves a grandchild re-parented at once; setsid -f one that also left the session.
  const pid = await start(box, ['sh', '-c', '(sleep 1000 &); setsid -f sleep 1001; setsid sleep 1002 & exec sleep 1003']);
  await waitFor('the four sleeps', () => [1000, 1001, 1002, 1003].every((n) => sleeping(box, n).length === 1));
  const [grandchild, escaped, ownSession] = [1000, 1001, 1002].map((n) => sleeping(box, n)[0]!);
  await waitFor('the grandchild re-parented', () => stat(grandchild!)!.ppid !== pid && stat(escaped!)!.ppid !== pid);
  t.not(stat(escaped!)!.session, stat(pid)!.session, 'setsid -f: another session');
  t.not(stat(ownSession!)!.session, stat(pid)!.session, 'setsid: another session');

  const tree = await cli(box, 'status', '--tree');
  t.equal(tree.exitCode, 0);
  t.match(tree.stdout, new RegExp(`[├└]─${escaped} sleeping .*\\(re-parented\\) \\(own group\\) sleep 1001`), 'shown under the daemon, marked');
  t.match(tree.stdout, new RegExp(`${grandchild} sleeping .*\\(re-parented\\) sleep 1000`));
  t.match(tree.stdout, new RegExp(`${ownSession} sleeping .*\\(own group\\) sleep 1002`));
  const listed = JSON.parse((await box.cli(['list', '--pid-dir', box.dir, '--json'])).stdout) as { pids: number[] }[];
  t.same(listed[0]!.pids, box.processes().sort((a, b) => a - b), 'list counts them too');

  const r = await cli(box, 'stop');
  t.equal(r.stdout, 'Stopping fam ... OK\n');
  t.equal(r.exitCode, 0);
  t.same(box.processes(), [], 'nothing left');
});

t.test('--signal-group: the group first, then what left it', async (t) => {
  const box = sandbox(t);
  await start(box, ['sh', '-c', 'setsid -f sleep 1000; sleep 1001 & wait']);
  await waitFor('the sleeps', () => sleeping(box, 1000).length === 1 && sleeping(box, 1001).length === 1);
  const r = await cli(box, 'stop', '--signal-group');
  t.equal(r.stdout, 'Stopping fam ... OK\n');
  t.same(box.processes(), [], 'nothing left');
});

t.test('a child that ignores TERM: FAILED naming it, nothing killed, pid file kept; status says so; --force ends it', async (t) => {
  const box = sandbox(t);
  await start(box, ['sh', '-c', '(trap "" TERM; exec sleep 1000) & sleep 1001 & wait']);
  await waitFor('the sleeps', () => sleeping(box, 1000).length === 1 && sleeping(box, 1001).length === 1);
  const stubborn = sleeping(box, 1000)[0]!;

  const r = await cli(box, 'stop', '--stop-timeout', '0.5');
  t.equal(r.stdout, 'Stopping fam ... FAILED\n');
  t.equal(r.stderr, `ERROR: 1 process of fam still running after 0.5 s: ${stubborn} (sleep 1000)\n`);
  t.equal(r.exitCode, 1);
  t.same(box.processes(), [stubborn], 'the rest ended, the stubborn one left alive (never SIGKILL unasked)');
  t.ok(existsSync(box.pidFile), 'the pid file kept for the next stop');

  const s = await cli(box, 'status');
  t.equal(s.stdout, `fam -- not running, but 1 process of it is: ${stubborn}\n`);
  t.equal(s.exitCode, 1);
  const j = JSON.parse((await cli(box, 'status', '--json')).stdout);
  t.same(j, { name: 'fam', pid: null, status: 'not running', pids: [stubborn], tracking: 'marker' });

  const again = await cli(box, 'stop', '--stop-timeout', '0.3');
  t.equal(again.stdout, 'Stopping fam ... FAILED\n', 'a second stop finds it again');
  t.equal(again.exitCode, 1);

  const forced = await cli(box, 'stop', '--stop-timeout', '0.3', '--force');
  t.equal(forced.stdout, 'Stopping fam ... OK\n');
  t.equal(forced.stderr, `WARNING: 1 process of fam did not stop in 0.3 s and was killed with SIGKILL: ${stubborn} (sleep 1000)\n`);
  t.equal(forced.exitCode, 0);
  t.same(box.processes(), [], 'nothing left');
  t.notOk(existsSync(box.pidFile), 'pid file removed');
  t.equal((await cli(box, 'status')).stdout, 'fam -- not running\n');
});

t.test('the daemon died, its service lives: status says so (exit 1), list too, and stop ends it', async (t) => {
  const box = sandbox(t);
  const pid = await start(box, README_EXAMPLE);
  await waitFor('the three sleeps', () => [1000, 1001, 1002].every((n) => sleeping(box, n).length === 1));
  process.kill(pid, 'SIGKILL');
  await waitFor('the daemon gone', () => !alive(pid));
  const left = box.processes().sort((a, b) => a - b);
  t.equal(left.length, 4);
  const s = await cli(box, 'status');
  t.equal(s.stdout, `fam -- not running, but 4 processes of it are: ${left.join(', ')}\n`);
  t.equal(s.exitCode, 1);
  const l = await box.cli(['list', '--pid-dir', box.dir]);
  t.match(l.stdout, /^app +- +not running, 4 left +- +- +-$/m);
  const r = await cli(box, 'stop');
  t.equal(r.stdout, 'Stopping fam ... OK\n');
  t.equal(r.stderr, '');
  t.same(box.processes(), [], 'nothing left');
  t.notOk(existsSync(box.pidFile));
});

t.test("a forged marker in another user's process is never believed, never signalled", async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const pid = await start(box, ['sh', '-c', 'setsid -f sleep 1000; exec sleep 1001']);
  await waitFor('the sleeps', () => sleeping(box, 1000).length === 1);
  const marker = markerOf(box);
  // uid 4242 (no passwd entry needed) carries the daemon's marker, started after the daemon; so does
  // a setuid-style process whose real uid is 4242 and effective uid root.
  const forged = foreign(t, box, ['setpriv', '--reuid=4242', '--regid=4242', '--clear-groups', '--', 'sleep', '999'], { DAEMONOCLE_SERVICE: marker });
  const mixed = foreign(t, box, ['setpriv', '--ruid=4242', '--', 'sleep', '998'], { DAEMONOCLE_SERVICE: marker });
  await waitFor('the forgers', () => sleeping(box, 999).length === 1 && sleeping(box, 998).length === 1);
  const j = JSON.parse((await cli(box, 'status', '--json')).stdout) as { pids: number[] };
  t.notOk(j.pids.includes(forged.pid!) || j.pids.includes(mixed.pid!), 'not counted');
  t.equal(j.pids.length, 2, 'the daemon and its escaped sleep');

  const r = await cli(box, 'stop');
  t.equal(r.stdout, 'Stopping fam ... OK\n');
  t.ok(alive(forged.pid!) && alive(mixed.pid!), 'the forgers were never signalled');
  t.same(box.processes().sort((a, b) => a - b), [forged.pid!, mixed.pid!].sort((a, b) => a - b), 'only they remain');
  t.notOk(alive(pid));

  // And after the daemon died: a stale pid file with only forgers "of" it is plain not running.
  const pid2 = await start(box, ['sleep', '1001']);
  const forged2 = foreign(t, box, ['setpriv', '--reuid=4242', '--regid=4242', '--clear-groups', '--', 'sleep', '997'], { DAEMONOCLE_SERVICE: markerOf(box) });
  await waitFor('the forger', () => sleeping(box, 997).length === 1);
  process.kill(pid2, 'SIGKILL');
  await waitFor('the daemon gone', () => !alive(pid2));
  t.equal((await cli(box, 'status')).stdout, 'fam -- not running\n');
  t.equal((await cli(box, 'stop')).stderr, 'WARNING: fam is not running\n');
  t.ok(alive(forged2.pid!), 'never signalled');
});

/** Spawns `sleep 996` (no marker) until it gets pid `want` (root: /proc/sys/kernel/ns_last_pid). */
async function takePid(t: Test, box: Sandbox, want: number): Promise<ChildProcess | undefined> {
  for (let i = 0; i < 200; i++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(want - 1));
    const proc = foreign(t, box, ['sleep', '996']);
    if (proc.pid === want) return proc;
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
  }
  return undefined;
}

t.test('pid reuse: a process that took a dead member\'s pid is never signalled', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  // The daemon reaps its member (this machine's init may never reap an orphan: its pid would stay taken).
  await start(box, ['sh', '-c', 'sleep 1000 & wait; setsid -f sleep 1002; exec sleep 1001']);
  await waitFor('the member', () => sleeping(box, 1000).length === 1);
  const member = sleeping(box, 1000)[0]!;
  process.kill(member, 'SIGKILL');
  await waitFor('the member reaped, the service going on', () => stat(member) === null && sleeping(box, 1001).length === 1 && sleeping(box, 1002).length === 1);
  const reused = await takePid(t, box, member);
  if (reused === undefined) return t.skip('could not get the pid back (a busy machine)');
  t.equal(reused.pid, member, 'the pid is taken by an unrelated process');
  const j = JSON.parse((await cli(box, 'status', '--json')).stdout) as { pids: number[] };
  t.notOk(j.pids.includes(member), 'not counted');
  const r = await cli(box, 'stop');
  t.equal(r.stdout, 'Stopping fam ... OK\n');
  t.ok(alive(member), 'never signalled');
  t.same(box.processes(), [member], 'the rest of the service ended');
});

t.test('20 rounds: a service forking 50 children while stop runs; nothing left, nothing foreign touched', async (t) => {
  const box = sandbox(t);
  // Each of 50 subshells ignores TERM for a moment, then leaves a re-parented sleep in its own
  // session and exits: members keep appearing after the daemon is gone.
  const forks = 'i=0; while [ $i -lt 50 ]; do (trap "" TERM; sleep 0.$((i % 4)); trap - TERM; setsid -f sleep 1000) & i=$((i+1)); done; wait';
  for (let round = 1; round <= 20; round++) {
    const pid = await start(box, ['sh', '-c', forks], ['--grace', '0.05']);
    // Started after the daemon, as root: one without a marker, one with another service's.
    const plain = foreign(t, box, ['sleep', '995']);
    const other = foreign(t, box, ['sleep', '994'], { DAEMONOCLE_SERVICE: `${pid}-${stat(pid)!.startTime + 1}` });
    const r = await cli(box, 'stop');
    t.equal(r.stdout, 'Stopping fam ... OK\n', `round ${round}: OK${r.stderr === '' ? '' : ` (${r.stderr.trim()})`}`);
    const left = box.processes().filter((p) => p !== plain.pid && p !== other.pid);
    t.same(left, [], `round ${round}: nothing of the service left`);
    t.ok(alive(plain.pid!) && alive(other.pid!), `round ${round}: nothing foreign touched`);
    plain.kill('SIGKILL');
    other.kill('SIGKILL');
    if (left.length > 0 || r.exitCode !== 0) break;
  }
});

t.test('run (not PID 1): what the command left is named; with --subreaper or --signal-group it gets TERM and is waited for', async (t) => {
  const box = sandbox(t);
  // Both exec'd before the command exits (else one is named by the shell's command line it had
  // before its exec): the background sleep's comm, and the setsid'd one found by its own argument.
  const leaves = ['sh', '-c', "exec >/dev/null 2>&1; setsid -f sleep 1000.25; sleep 1001.25 & p=$!; until [ \"$(cat /proc/$p/comm)\" = sleep ] && pgrep -xf 'sleep 1000.25' >/dev/null; do :; done; exit 3"];
  const r = await box.cli(['run', '--', ...leaves]);
  t.equal(r.exitCode, 3, 'exits as the command did');
  const left = box.processes().sort((a, b) => a - b);
  t.equal(left.length, 2);
  t.match(r.stderr, /^WARNING: 2 processes left by the command are still running: \d+ \(sleep 100[01]\.25\), \d+ \(sleep 100[01]\.25\)\n$/);
  for (const p of left) t.match(r.stderr, String(p));
  for (const p of left) process.kill(p, 'SIGKILL');
  await waitFor('the sleeps gone', () => box.processes().length === 0);

  for (const flag of ['--subreaper', '--signal-group']) {
    const ended = await box.cli(['run', flag, '--', ...leaves]);
    t.equal(ended.exitCode, 3, `${flag}: exits as the command did`);
    t.equal(ended.stderr, '', `${flag}: nothing left to name`);
    t.same(box.processes(), [], `${flag}: nothing left`);
  }
  // Nothing left behind: nothing said.
  const clean = await box.cli(['run', '--', 'sh', '-c', 'exit 0']);
  t.equal(clean.stderr, '');
});

t.test('the library: doAction("stop") ends the whole service too', async (t) => {
  const box = sandbox(t);
  const env = { ...box.env, APP_PID_FILE: box.pidFile };
  const app = fixture('lib-family.js');
  const s = await box.node(app, ['start'], { env });
  t.equal(s.stdout, 'Starting family ... OK\n', s.stderr);
  await waitFor('the sleeps', () => sleeping(box, 1000).length === 1 && sleeping(box, 1001).length === 1);
  t.equal(box.processes().length, 3, 'the worker and its two children');
  const r = await box.node(app, ['stop'], { env });
  t.equal(r.stdout, 'Stopping family ... OK\n');
  t.equal(r.stderr, '');
  t.same(box.processes(), [], 'nothing left');
});
