// `run --restart` (#31): the command started again after a failure, with waits that double from
// --restart-delay, a give-up point (--restart-limit), and no restart for what a stop caused.
// The starts are read from the log the command itself writes as it execs (test/fixtures/crash-times.sh).
import t from 'tap';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, childrenOf, fixture, requireRoot, RUNTIME, sandbox, unavailable, untilReady, waitFor, zombiesAfterSettling } from './helpers.js';

const CRASH = fixture('crash-times.sh');
const run = (...args: string[]) => [RUNTIME, BIN, 'run', ...args, '--'];

/** Each start's pid and time (s), in order. */
function starts(log: string): { pid: number; at: number }[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [pid, at] = line.split(' ');
    return { pid: Number(pid), at: Number(at) };
  });
}

const gaps = (log: string) => starts(log).slice(1).map((s, i) => s.at - starts(log)[i]!.at);

t.test('on-failure: three failures, three restarts, each wait double the last; then TERM ends it for good', async (t) => {
  const box = sandbox(t);
  const log = join(box.dir, 'starts');
  const { proc, child, err } = await untilReady(box, [...run('--restart', 'on-failure', '--restart-delay', '0.2', '--name', 'web'), CRASH, log, '3', '1']);
  t.equal(starts(log).length, 4, 'four starts: three that failed, one that stayed');
  t.equal(starts(log)[3]!.pid, child, 'the one that stayed is the running child');
  const [a, b, c] = gaps(log);
  // Each gap is the wait plus a shell's start; the waits are 0.2, 0.4, 0.8 s.
  t.ok(a! >= 0.2 && a! < 0.2 + 0.35, `first wait ~0.2 s (${a!.toFixed(3)})`);
  t.ok(b! >= 0.4 && b! < 0.4 + 0.35, `second wait ~0.4 s (${b!.toFixed(3)})`);
  t.ok(c! >= 0.8 && c! < 0.8 + 0.35, `third wait ~0.8 s (${c!.toFixed(3)})`);
  t.match(err(), /^WARNING: web \(PID \d+\) exited with code 1; starting it again in 0\.2 s \(restart 1\)$/m, 'each restart is one WARNING line');
  t.match(err(), /starting it again in 0\.8 s \(restart 3\)$/m);
  t.equal(childrenOf(proc.pid!).length, 1, 'one child at a time');
  proc.kill('SIGTERM');
  const r = await proc;
  t.equal(r.signal, 'SIGTERM', 'the stopped child takes the wrapper with it by TERM, as plain run does');
  t.equal(starts(log).length, 4, 'no start after the stop');
  t.notOk(alive(child), 'the child is gone');
  t.same(box.processes(), [], 'nothing left');
});

t.test('a crash loop gives up at --restart-limit: run exits as the last child did, with one ERROR line', async (t) => {
  const box = sandbox(t);
  const log = join(box.dir, 'starts');
  const r = await box.cli(['run', '--restart', 'on-failure', '--restart-delay', '0', '--restart-limit', '4/60', '--name', 'loop', '--', CRASH, log, '1000', '3']);
  t.equal(r.exitCode, 3, 'exit 3, the last child\'s code');
  t.equal(starts(log).length, 4, '4/60 allows four starts and gives up instead of a fifth');
  t.equal((r.stderr.match(/^WARNING: loop \(PID \d+\) exited with code 3; starting it again/gm) ?? []).length, 3, 'three restarts announced');
  t.match(r.stderr, /^ERROR: loop failed: 4 starts in 60 s, last exit code 3; not starting it again$/m);
  // The same with --map-exit: the give-up exit is mapped like any other.
  const mapped = await box.cli(['run', '--restart', 'always', '--restart-delay', '0', '--restart-limit', '2/60', '--map-exit', '3:0', '--', CRASH, join(box.dir, 'starts2'), '1000', '3']);
  t.equal(mapped.exitCode, 0, '--map-exit 3:0 applies to the last exit');
  t.equal(starts(join(box.dir, 'starts2')).length, 2);
});

t.test('a stop during the wait: no new child, the wrapper ends at once', async (t) => {
  const box = sandbox(t);
  const log = join(box.dir, 'starts');
  const proc = execa(RUNTIME, [BIN, 'run', '--restart', 'on-failure', '--restart-delay', '30', '--name', 'slow', '--', CRASH, log, '1000', '1'], {
    env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 20_000,
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor('the first failure and its WARNING', () => /starting it again in 30 s/.test(err) || proc.exitCode !== null);
  t.same(childrenOf(proc.pid!), [], 'waiting: no child');
  const sent = Date.now();
  proc.kill('SIGTERM');
  const r = await proc;
  t.ok(Date.now() - sent < 2000, `ended within 2 s of the TERM, not after the 30 s wait (${Date.now() - sent} ms)`);
  t.equal(r.signal, 'SIGTERM', 'the wrapper died of TERM (a clean stop for systemd)');
  t.equal(starts(log).length, 1, 'never started again');
});

t.test('TERM to the child alone is a failure, not a stop: on-failure and always restart it', async (t) => {
  const box = sandbox(t);
  for (const when of ['on-failure', 'always']) {
    const log = join(box.dir, `starts-${when}`);
    const first = await untilReady(box, [...run('--restart', when, '--restart-delay', '0'), CRASH, log, '0', '0']);
    process.kill(first.child, 'SIGTERM');
    await waitFor(`${when}: a second start`, () => starts(log).length === 2 || first.proc.exitCode !== null);
    await waitFor(`${when}: the second child running`, () => alive(starts(log)[1]!.pid) && childrenOf(first.proc.pid!).includes(starts(log)[1]!.pid));
    t.match(first.err(), /died of SIGTERM; starting it again in 0 s \(restart 1\)/, `${when}: the death by a signal no stop sent is restarted`);
    first.proc.kill('SIGTERM');
    const r = await first.proc;
    t.equal(r.signal, 'SIGTERM', `${when}: then a stop ends it`);
    t.equal(starts(log).length, 2, `${when}: two starts in all`);
  }
});

t.test('what is never restarted: a clean exit under on-failure, a command that cannot run', async (t) => {
  const box = sandbox(t);
  const log = join(box.dir, 'starts');
  const clean = await box.cli(['run', '--restart', 'on-failure', '--', CRASH, log, '1', '0']);
  t.equal(clean.exitCode, 0, 'exit 0 ends the service under on-failure');
  t.equal(starts(log).length, 1);
  t.equal(clean.stderr, 'start 1 exits 0\n', 'and nothing is said of a restart');
  const missing = await box.cli(['run', '--restart', 'always', '--', join(box.dir, 'no-such-command')]);
  t.equal(missing.exitCode, 127, 'not found: 127 at once');
  t.match(missing.stderr, /^ERROR: Cannot run .*no-such-command.*: no such file/m);
  t.notMatch(missing.stderr, /starting it again/);
});

t.test('bad --restart values are usage errors (exit 2), and start does not take --restart yet', async (t) => {
  const box = sandbox(t);
  for (const [args, message] of [
    [['--restart', 'sometimes'], "ERROR: --restart takes no, on-failure or always, not 'sometimes'"],
    [['--restart-limit', '0/10'], "ERROR: --restart-limit takes STARTS/SECONDS with at least one start in a window longer than 0 s (e.g. 5/10), not '0/10'"],
    [['--restart-limit', '5'], "ERROR: --restart-limit takes STARTS/SECONDS with at least one start in a window longer than 0 s (e.g. 5/10), not '5'"],
    [['--restart-delay', 'soon'], "ERROR: --restart-delay must be a number of seconds >= 0, not 'soon'"],
  ] as const) {
    const r = await box.cli(['run', ...args, '--', 'true']);
    t.equal(r.exitCode, 2, `${args.join(' ')}: exit 2`);
    t.equal(r.stderr.split('\n')[0], message);
  }
  const r = await box.cli(['stop', '--restart', 'always', '--name', 'x']);
  t.equal(r.exitCode, 2, 'stop --restart: exit 2');
  t.match(r.stderr, /^ERROR: --restart does not apply to stop/);
});

t.test('as PID 1 of a pid namespace: restarts and reaping together', async (t) => {
  if (!requireRoot(t)) return;
  if (!existsSync('/usr/bin/unshare')) return void unavailable(t, 'unshare (util-linux)');
  const box = sandbox(t);
  const log = join(box.dir, 'starts');
  // Each failing start leaves 20 orphans behind (they exit 0.2 s later), then exits 1.
  const script = `echo "$$ $(date +%s.%N)" >> ${log}; n=$(wc -l < ${log}); i=0; while [ $i -lt 20 ]; do (sleep 0.2 &); i=$((i+1)); done; if [ "$n" -le 2 ]; then exit 1; fi; echo "ready $$"; exec sleep 1000`;
  const proc = execa('unshare', ['--pid', '--fork', '--mount-proc', RUNTIME, BIN, 'run', '--restart', 'on-failure', '--restart-delay', '0', '--', 'sh', '-c', script], {
    env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000,
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the third start to stay', () => /ready \d+/.test(out) || proc.exitCode !== null);
  t.equal(starts(log).length, 3, 'three starts');
  const init = childrenOf(proc.pid!)[0]!;
  // The command that stayed (its pids above are the namespace's own): the child running sleep 1000.
  const child = childrenOf(init).find((p) => readFileSync(`/proc/${p}/cmdline`, 'latin1') === 'sleep\x001000\x00')!;
  t.equal(await zombiesAfterSettling(init, [child]), 0, 'every orphan of every start reaped');
  process.kill(init, 'SIGTERM');
  const r = await proc;
  t.equal(r.exitCode, 143, 'TERM: the wrapper as PID 1 exits 143');
  t.same(box.processes(), [], 'nothing left');
});

