// Faults and hostile surroundings: every way a start or stop can be interrupted or refused ends
// with a tracked daemon or none, and nothing is signalled that is not the daemon.
import t from 'tap';
import type { Test } from 'tap';
import { execa } from 'execa';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, childrenOf, openFds, readPid, requireRoot, sandbox, stat, waitFor, zombiesOf, type Sandbox } from './helpers.js';

/** The invariant: no daemon, or exactly one that the pid file names (pid and start time). */
function trackedOrNone(t: Test, box: Sandbox, label: string): number | undefined {
  const procs = box.processes().filter((p) => !readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(BIN));
  if (procs.length === 0) {
    t.pass(`${label}: no daemon`);
    return undefined;
  }
  t.equal(procs.length, 1, `${label}: at most one daemon`);
  t.ok(existsSync(box.pidFile), `${label}: the daemon is tracked`);
  const [pid, start] = readFileSync(box.pidFile, 'utf8').split('\n').map(Number);
  t.equal(pid, procs[0], `${label}: the pid file names it`);
  t.equal(start, stat(procs[0]!)?.startTime, `${label}: with its start time`);
  return procs[0];
}

t.test('a start killed with SIGKILL at any moment leaves a tracked daemon or none', async (t) => {
  const box = sandbox(t);
  for (const delay of [0, 2, 5, 10, 20, 30, 45, 60, 80, 120, 200]) {
    const caller = box.spawn(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '5', '--', 'sleep', '1000']);
    await new Promise((r) => setTimeout(r, delay));
    caller.kill('SIGKILL');
    await caller;
    // The session leader and subshell finish their few steps on their own.
    await waitFor('the launch to settle', () => box.processes().every((p) => !/bin\/(ba)?sh/.test(readFileSync(`/proc/${p}/cmdline`, 'latin1'))), 5000).catch(() => {});
    const daemon = trackedOrNone(t, box, `killed after ${delay} ms`);
    if (daemon !== undefined) {
      const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
      t.equal(stop.exitCode, 0, `killed after ${delay} ms: stoppable`);
    }
  }
});

t.test('stop during a start waits for it, then stops: nothing left', async (t) => {
  const box = sandbox(t);
  const start = box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '1', '--', 'sleep', '1000']);
  await waitFor('the pid file', () => existsSync(box.pidFile));
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  const started = await start;
  t.equal(started.stdout, 'Starting app ... OK\n', 'the start finished first (it held the lock)');
  t.equal(stop.stdout, 'Stopping app ... OK\n', 'then the stop');
  t.same(box.processes(), []);
  t.notOk(existsSync(box.pidFile));
});

t.test('start during a stop waits for it, then starts: exactly one new daemon', async (t) => {
  const box = sandbox(t);
  const out = join(box.dir, 'out.log');
  // A daemon that takes a while to stop: it traps TERM and leaves 0.5 s later.
  const slow = ['sh', '-c', 'trap "sleep 0.5; exit 0" TERM; echo ready; while :; do sleep 0.05; done'];
  t.equal((await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--stdout', out, '--grace', '0.2', '--', ...slow])).exitCode, 0);
  const old = readPid(box.pidFile);
  const stop = box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  // The stop holds the lock once its TERM arrived: the daemon's trap then runs `sleep 0.5`.
  const trapRunning = () => {
    try {
      return childrenOf(old).some((child) => readFileSync(`/proc/${child}/cmdline`, 'latin1') === 'sleep\x000.5\x00');
    } catch {
      return false;
    }
  };
  await waitFor('the stop to signal the daemon', trapRunning);
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '0.2', '--', 'sleep', '1000']);
  const stopped = await stop;
  t.equal(stopped.stdout, 'Stopping app ... OK\n');
  t.equal(start.stdout, 'Starting app ... OK\n', 'started after the stop finished');
  t.notOk(alive(old));
  const fresh = trackedOrNone(t, box, 'after both');
  t.not(fresh, undefined);
});

t.test('as root, pid files in unsafe directories are refused', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const open = join(box.dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const pidFile = join(open, 'app.pid');
  const start = await box.cli(['start', '--pid-file', pidFile, '--name', 'app', '--', 'sleep', '1000']);
  t.equal(start.stderr, `ERROR: Cannot use pid file ${pidFile}: its directory ${open} is writable by other users (mode 777); refusing to trust it\n`);
  t.equal(start.exitCode, 1);
  t.notOk(existsSync(`${pidFile}.lock`), 'nothing written there');
  const owned = join(box.dir, 'owned');
  mkdirSync(owned);
  chownSync(owned, 65534, 65534);
  const status = await box.cli(['status', '--pid-file', join(owned, 'app.pid'), '--name', 'app']);
  t.match(status.stderr, /is owned by uid 65534, not root; refusing to trust it \(if uid 65534 is the daemon's own user, say so with --user\)\n$/);
  t.equal(status.exitCode, 4);
  const sticky = join(box.dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const ok = await box.cli(['start', '--pid-file', join(sticky, 'app.pid'), '--name', 'app', '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(ok.stdout, 'Starting app ... OK\n', 'a sticky directory like /tmp is fine');
  t.same(box.processes().length, 1);
});

async function mountTmpfs(t: Test, dir: string, options: string): Promise<boolean> {
  mkdirSync(dir);
  const r = await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { reject: false });
  if (r.exitCode !== 0) {
    t.fail(`cannot mount a tmpfs: ${r.stderr}`);
    return false;
  }
  t.teardown(() => execa('umount', ['-l', dir], { reject: false }));
  return true;
}

t.test('a read-only or full disk for the pid or log file fails loudly, nothing left running', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const ro = join(box.dir, 'ro');
  if (!(await mountTmpfs(t, ro, 'ro,size=1m,mode=0755'))) return;
  const roPid = await box.cli(['start', '--pid-file', join(ro, 'app.pid'), '--name', 'app', '--', 'sleep', '1000']);
  t.equal(roPid.stderr, `ERROR: Cannot write pid file ${join(ro, 'app.pid')}: read-only file system\n`);
  t.equal(roPid.exitCode, 1);
  const roLog = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--stdout', join(ro, 'out.log'), '--', 'sleep', '1000']);
  t.equal(roLog.stdout, 'Starting app ... FAILED\n');
  t.equal(roLog.stderr, `ERROR: Cannot open --stdout file ${join(ro, 'out.log')}: read-only file system\n`);
  t.equal(roLog.exitCode, 1);
  t.same(box.processes(), [], 'nothing running');

  const full = join(box.dir, 'full');
  if (!(await mountTmpfs(t, full, 'size=64k,mode=0755'))) return;
  writeFileSync(join(full, 'lock-first.pid.lock'), '');
  await execa('dd', ['if=/dev/zero', `of=${join(full, 'filler')}`, 'bs=4k'], { reject: false });
  const fullPid = join(full, 'app.pid');
  const r = await box.cli(['start', '--pid-file', fullPid, '--name', 'app', '--', 'sleep', '1000']);
  t.equal(r.stdout, 'Starting app ... FAILED\n');
  t.equal(r.stderr, `ERROR: Cannot start app: could not write pid file ${fullPid}\n`);
  t.equal(r.exitCode, 1);
  t.notOk(existsSync(fullPid));
  t.same(box.processes(), [], 'the command never ran');
});

// Sized by time, not by a count: SOAK_SECONDS (20 in the suite; `npm run soak` gives it 600).
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 20);

t.test(`soak: start/status/stop cycles for ${SOAK_SECONDS} s leave nothing behind`, async (t) => {
  const box = sandbox(t);
  const deadline = Date.now() + SOAK_SECONDS * 1000;
  const lane = async (n: number) => {
    const pidFile = join(box.dir, `lane${n}.pid`);
    const common = ['--pid-file', pidFile, '--name', `lane${n}`];
    let cycles = 0;
    let failures = 0;
    while (Date.now() < deadline) {
      const start = await box.cli(['start', ...common, '--grace', '0', '--', 'sleep', '1000']);
      const pid = readPid(pidFile);
      if (cycles % 5 === 0 && (await box.cli(['status', ...common])).exitCode !== 0) failures++;
      const stop = await box.cli(['stop', ...common]);
      if (start.exitCode !== 0 || stop.exitCode !== 0 || alive(pid) || existsSync(pidFile)) failures++;
      cycles++;
    }
    return { cycles, failures };
  };
  // Four lanes (pid files) in parallel.
  const lanes = await Promise.all([0, 1, 2, 3].map(lane));
  const cycles = lanes.reduce((sum, l) => sum + l.cycles, 0);
  t.same(lanes.map((l) => l.failures), [0, 0, 0, 0], `${cycles} cycles in ${SOAK_SECONDS} s, every one clean`);
  t.ok(lanes.every((l) => l.cycles >= 2), `every lane went round more than once (${lanes.map((l) => l.cycles).join(', ')})`);
  t.same(box.processes(), [], 'no leaked processes');
  t.equal(zombiesOf(process.pid), 0, 'no zombies of ours');
});

t.test('lock-file storm: stop removes the lock file, and concurrent start/stop/restart still end with one tracked daemon or none', async (t) => {
  // Every stop that clears the pid file removes the lock file under the lock; lockers that waited
  // on the removed file must notice and start over, or one of them runs beside a newcomer.
  const box = sandbox(t);
  const args = ['--pid-file', box.pidFile, '--name', 'app'];
  const lockFile = `${box.pidFile}.lock`;
  for (let round = 0; round < 4; round++) {
    const actions = ['stop', 'start', 'stop', 'restart', 'stop', 'start', 'stop', 'start', 'restart', 'stop', 'stop', 'start'];
    const runs = await Promise.all(actions.map((a) => box.cli(a === 'stop' ? ['stop', ...args] : [a, ...args, '--grace', '0.05', '--', 'sleep', '1000'])));
    t.ok(runs.every((r) => r.exitCode === 0), `round ${round}: every action succeeded (${runs.map((r) => r.exitCode).join(',')})`);
    t.notOk(runs.some((r) => /ERROR/.test(r.stderr)), `round ${round}: no ERROR`);
    trackedOrNone(t, box, `round ${round}`);
    t.equal(existsSync(lockFile), existsSync(box.pidFile), `round ${round}: a lock file only beside a pid file`);
    const stop = await box.cli(['stop', ...args]);
    t.equal(stop.exitCode, 0);
    t.same(box.processes(), [], `round ${round}: stopped`);
    t.notOk(existsSync(lockFile), `round ${round}: no lock file after the stop`);
    t.notOk(existsSync(box.pidFile), `round ${round}: no pid file after the stop`);
  }
  t.equal(zombiesOf(process.pid), 0);
});

t.test('storm: concurrent start/restart/stop on one pid file end with one tracked daemon or none', async (t) => {
  const box = sandbox(t);
  const args = ['--pid-file', box.pidFile, '--name', 'app'];
  for (let round = 0; round < 3; round++) {
    const actions = ['start', 'restart', 'stop', 'start', 'restart', 'stop', 'start', 'start', 'restart', 'stop', 'start', 'restart'];
    const runs = await Promise.all(actions.map((a) => box.cli(a === 'stop' ? ['stop', ...args] : [a, ...args, '--grace', '0.1', '--', 'sleep', '1000'])));
    t.ok(runs.every((r) => r.exitCode === 0), `round ${round}: every action succeeded (${runs.map((r) => r.exitCode).join(',')})`);
    t.notOk(runs.some((r) => /at /.test(r.stderr) && /Error/.test(r.stderr)), 'no stack traces');
    const daemon = trackedOrNone(t, box, `round ${round}`);
    if (daemon !== undefined) t.same(openFds(daemon), [0, 1, 2], 'no fds leaked into the daemon');
  }
  await box.cli(['stop', ...args]);
  t.same(box.processes(), []);
  t.equal(zombiesOf(process.pid), 0);
});
