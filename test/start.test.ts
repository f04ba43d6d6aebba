import t from 'tap';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { alive, describeFds, fdTarget, fixture, openFds, readPid, requireRoot, ROOT, sandbox, stat } from './helpers.js';

t.test('start: OK, and the daemon is a real daemon', async (t) => {
  const box = sandbox(t);
  // sleep, not a Node fixture: Node opens fds of its own, and we check what the daemon inherits.
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.3', '--', 'sleep', '1000']);
  t.equal(r.stdout, 'Starting sleep ... OK\n');
  t.equal(r.stderr, '');
  t.equal(r.exitCode, 0);
  const pid = readPid(box.pidFile);
  const st = stat(pid)!;
  t.ok(alive(pid), 'daemon alive after start returned');
  t.equal(st.ppid, 1, 'parent is init');
  t.not(st.session, pid, 'not a session leader');
  t.equal(st.ttyNr, 0, 'no controlling terminal');
  t.equal(fdTarget(pid, 0), '/dev/null', 'stdin is /dev/null');
  t.same(openFds(pid).filter((fd) => fd > 2), [], 'no fd beyond 0-2');
  t.equal(readlinkSync(`/proc/${pid}/cwd`), '/', 'cwd is /');
  t.equal(fdTarget(pid, 1), '/dev/null', 'stdout defaults to /dev/null');
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Umask:\t0022$/m, 'umask 022');
  t.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\0/, 'the daemon is the command itself');
  t.equal(readFileSync(box.pidFile, 'utf8'), `${pid}\n${st.startTime}\n`, 'pid file: pid, then start time');

  const again = await box.cli(['start', '--pid-file', box.pidFile, '--', 'sleep', '1000']);
  t.equal(again.stdout, '');
  t.equal(again.stderr, `WARNING: sleep already running with PID ${pid}\n`);
  t.equal(again.exitCode, 0);
  t.equal(readPid(box.pidFile), pid, 'same daemon');
  t.same(box.processes(), [pid], 'exactly one daemon');
});

t.test('start: --work-dir, --umask, --stdout/--stderr are applied', async (t) => {
  const box = sandbox(t);
  const out = join(box.dir, 'out.log');
  const err = join(box.dir, 'err.log');
  writeFileSync(out, 'earlier line\n');
  const r = await box.cli([
    'start', '--pid-file', box.pidFile, '--grace', '0.2', '--work-dir', box.dir, '--umask', '077',
    '--stdout', out, '--stderr', err, '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exec sleep 1000',
  ]);
  t.equal(r.exitCode, 0, r.stderr);
  const pid = readPid(box.pidFile);
  t.equal(readlinkSync(`/proc/${pid}/cwd`), box.dir);
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Umask:\t0077$/m);
  t.equal(readFileSync(out, 'utf8'), 'earlier line\nto-out\n', 'stdout appended');
  t.equal(readFileSync(err, 'utf8'), 'to-err\n');
});

t.test('start: fds the caller inherited do not leak; --keep-fds passes them on', async (t) => {
  const box = sandbox(t);
  // The CLI gets an extra pipe at fd 3 (not close-on-exec in the CLI).
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.2', '--', 'sleep', '1000'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  t.equal(r.exitCode, 0, r.stderr);
  const first = readPid(box.pidFile);
  t.same(openFds(first), [0, 1, 2], `fd 3 not inherited (${describeFds(first)})`);

  // A file, not a pipe, for the kept fd: execa would wait for a pipe the daemon keeps open.
  const keptFile = join(box.dir, 'kept.txt');
  const fd = openSync(keptFile, 'w');
  t.teardown(() => closeSync(fd));
  const kept = join(box.dir, 'kept.pid');
  const k = await box.cli(['start', '--pid-file', kept, '--grace', '0.2', '--keep-fds', '3', '--', 'sleep', '1001'], {
    stdio: ['ignore', 'pipe', 'pipe', fd],
  });
  t.equal(k.exitCode, 0, k.stderr);
  const pid = readPid(kept);
  t.same(openFds(pid), [0, 1, 2, 3], `fd 3 kept (${describeFds(pid)})`);
  t.equal(fdTarget(pid, 3), keptFile);
});

t.test('start: a command that dies in the startup window is FAILED with its code and stderr', async (t) => {
  const box = sandbox(t);
  const err = join(box.dir, 'err.log');
  writeFileSync(err, 'old noise from before\n');
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--stderr', err, '--', fixture('exit-after.js'), '200', '3']);
  t.equal(r.stdout, 'Starting exit-after.js ... FAILED\n');
  t.equal(r.stderr, 'ERROR: exit-after.js exited during startup with exit code 3\nfixture: starting up\nfixture: giving up with 3\n');
  t.equal(r.exitCode, 1);
  t.notOk(existsSync(box.pidFile), 'no pid file left');
  t.same(box.processes(), [], 'nothing left running');
});

t.test('start: a command killed by a signal in the window names the signal', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--', fixture('kill-self.js'), 'SIGUSR2', '100']);
  t.equal(r.stdout, 'Starting kill-self.js ... FAILED\n');
  t.equal(r.stderr, 'ERROR: kill-self.js was killed during startup by SIGUSR2 (its error output went to /dev/null; add --stderr FILE to see it)\n');
  t.equal(r.exitCode, 1);
  t.notOk(existsSync(box.pidFile));
});

t.test('start: exit 0 inside the window is a failed start too', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--', 'true']);
  t.equal(r.stdout, 'Starting true ... FAILED\n');
  t.equal(r.stderr, 'ERROR: true exited during startup with exit code 0 (its error output went to /dev/null; add --stderr FILE to see it)\n');
  t.equal(r.exitCode, 1);
});

t.test('start: a command that does not exist or cannot run', async (t) => {
  const box = sandbox(t);
  const missing = await box.cli(['start', '--pid-file', box.pidFile, '--', 'no-such-command-xyz', 'arg']);
  t.equal(missing.stdout, 'Starting no-such-command-xyz ... FAILED\n');
  t.equal(missing.stderr, 'ERROR: Cannot run no-such-command-xyz: command not found in PATH\n');
  t.equal(missing.exitCode, 1);

  const notExec = join(box.dir, 'script.sh');
  writeFileSync(notExec, '#!/bin/sh\nsleep 1000\n', { mode: 0o644 });
  const denied = await box.cli(['start', '--pid-file', box.pidFile, '--', notExec]);
  t.equal(denied.exitCode, 1);
  t.equal(denied.stderr, `ERROR: Cannot run ${notExec}: permission denied (not executable)\n`);

  const dir = await box.cli(['start', '--pid-file', box.pidFile, '--', box.dir]);
  t.equal(dir.exitCode, 1);
  t.equal(dir.stderr, `ERROR: Cannot run ${box.dir}: it is a directory\n`);
  t.notOk(existsSync(box.pidFile));
  t.same(box.processes(), []);
});

t.test('start: an unwritable pid file or output file fails with nothing left running', async (t) => {
  const box = sandbox(t);
  const badPid = await box.cli(['start', '--pid-file', '/proc/no-such-dir/app.pid', '--', 'sleep', '1000']);
  t.equal(badPid.exitCode, 1);
  t.equal(badPid.stderr, 'ERROR: Cannot create directory /proc/no-such-dir for pid file /proc/no-such-dir/app.pid: no such file or directory\n');
  t.notMatch(badPid.stderr, /\n {4}at /, 'no stack trace');

  const badOut = await box.cli(['start', '--pid-file', box.pidFile, '--stdout', '/proc/no-such-dir/out.log', '--', 'sleep', '1000']);
  t.equal(badOut.stdout, 'Starting sleep ... FAILED\n');
  t.equal(badOut.stderr, 'ERROR: Cannot open --stdout file /proc/no-such-dir/out.log: no such file or directory\n');
  t.equal(badOut.exitCode, 1);
  t.notOk(existsSync(box.pidFile));

  t.same(box.processes(), [], 'nothing left running');
});

t.test('start: six concurrent starts of one pid file leave exactly one daemon', async (t) => {
  const box = sandbox(t);
  const runs = await Promise.all(
    Array.from({ length: 6 }, () => box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.3', '--', 'sleep', '1000'])),
  );
  const ok = runs.filter((r) => r.stdout === 'Starting sleep ... OK\n');
  const already = runs.filter((r) => /^WARNING: sleep already running with PID \d+\n$/.test(r.stderr));
  t.equal(ok.length, 1, 'one start did it');
  t.equal(already.length, 5, 'the others saw it running');
  t.ok(runs.every((r) => r.exitCode === 0));
  t.same(box.processes(), [readPid(box.pidFile)], 'exactly one daemon, the one in the pid file');
});

t.test('start: a relative command path is resolved against the caller, not the daemon cwd', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.2', '--', './test/fixtures/forever.js'], { cwd: ROOT });
  t.equal(r.exitCode, 0, r.stderr);
  t.ok(alive(readPid(box.pidFile)));
});

t.test('start --user/--group: the command runs with dropped privileges', async (t) => {
  const box = sandbox(t);
  if (!requireRoot(t)) return;
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--grace', '0.2', '--user', 'nobody', '--group', 'nogroup', '--', 'sleep', '1000']);
  t.equal(r.exitCode, 0, r.stderr);
  const pid = readPid(box.pidFile);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  t.match(status, /^Uid:\t65534\t65534\t65534\t65534$/m);
  t.match(status, /^Gid:\t65534\t65534\t65534\t65534$/m);
  const stopped = await box.cli(['stop', '--pid-file', box.pidFile]);
  t.equal(stopped.exitCode, 0);
});

t.test('start: a pid file that cannot be put in place fails with nothing left running', async (t) => {
  const box = sandbox(t);
  if (!requireRoot(t)) return;
  // An append-only directory: the lock and temp files can be created, the rename cannot happen.
  const dir = join(box.dir, 'append-only');
  mkdirSync(dir);
  const chattr = await execa('chattr', ['+a', dir], { reject: false });
  if (chattr.exitCode !== 0) return t.skip(`chattr +a unsupported here: ${chattr.stderr}`);
  t.teardown(() => execa('chattr', ['-a', dir], { reject: false }));
  const pidFile = join(dir, 'app.pid');
  const r = await box.cli(['start', '--pid-file', pidFile, '--', 'sleep', '1000']);
  t.equal(r.stdout, 'Starting sleep ... FAILED\n');
  t.equal(r.stderr, `ERROR: Cannot start sleep: could not write pid file ${pidFile}\n`);
  t.equal(r.exitCode, 1);
  t.notOk(existsSync(pidFile));
  t.same(box.processes(), [], 'the command never ran');
});
