import t from 'tap';
import { readFileSync, readlinkSync } from 'node:fs';
import { alive, fdTarget, openFds, readPid, sandbox, stat } from './helpers.js';

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
