// The Daemon API surface: option validation, custom actions, cli() help and errors.
import t from 'tap';
import { join } from 'node:path';
import { Daemon } from '../dist/index.js';
import { describeFds, fdTarget, fixture, freePort, openFds, readPid, sandbox } from './helpers.js';

t.test('bad options throw a TypeError naming the option and the value', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ umask: '999' }, /^Daemon option 'umask' must be an octal mode between 0 and 0o777 \(0o027 or '027'\), got '999' \(string\)$/],
    [{ umask: 0o1000 }, /^Daemon option 'umask' must be .*, got 512 \(number\)$/],
    [{ stopTimeout: '10' }, /^Daemon option 'stopTimeout' must be a number of seconds from 0 to 2147483, got '10' \(string\)$/],
    [{ grace: -1 }, /^Daemon option 'grace' must be a number of seconds from 0 to 2147483, got -1 \(number\)$/],
    [{ detach: 'yes' }, /^Daemon option 'detach' must be true, false or 'auto', got 'yes' \(string\)$/],
    [{ worker: 42 }, /^Daemon option 'worker' must be a function, got 42 \(number\)$/],
    [{ name: 'a/b' }, /^Daemon option 'name' must be a non-empty name without '\/' or newlines, got 'a\/b' \(string\)$/],
    [{ uid: 'no-such-user-xyz' }, /^Daemon option 'uid' must be an existing user, got 'no-such-user-xyz' \(string\)$/],
    [{ gid: 'no-such-group-xyz' }, /^Daemon option 'gid' must be an existing group, got 'no-such-group-xyz' \(string\)$/],
    [{ keepFds: [1] }, /^Daemon option 'keepFds' must be an array of open fd numbers >= 3, got 1 \(object\)$/],
    [{ pidFile: '' }, /^Daemon option 'pidFile' must be a non-empty path, got '' \(string\)$/],
    [{ closeOpenFiles: 'no' }, /^Daemon option 'closeOpenFiles' must be true or false, got 'no' \(string\)$/],
    [{ reloadSignal: 'SIGNOPE' }, /^Daemon option 'reloadSignal' must be a signal name or number, got 'SIGNOPE' \(string\)$/],
    [{ pidfile: '/tmp/x' }, /^Unknown Daemon option 'pidfile'; valid options: name, worker, /],
  ];
  for (const [options, message] of cases) {
    t.throws(() => new Daemon(options as never), { name: 'TypeError', message }, JSON.stringify(options));
  }
  t.doesNotThrow(() => new Daemon({ umask: '027', stopTimeout: 0.5, grace: 0, detach: false, uid: 0, gid: 'root' }));
  const noWorker = new Daemon({ pidFile: '/tmp/daemonocle-never.pid' });
  await t.rejects(noWorker.doAction('start'), { name: 'TypeError', message: /^Daemon option 'worker' must be a function to start/ });
  t.throws(() => noWorker.reload(), { message: 'Daemon.reload() can only be called inside the running daemon' });
  t.equal(new Daemon({}).name, 'library-api.test.ts', 'name defaults to the script basename');
});

t.test('custom actions and cli()', async (t) => {
  const box = sandbox(t);
  const env = { ...box.env, APP_PID_FILE: box.pidFile };
  const greet = await box.node(fixture('lib-app.js'), ['greet', 'big', 'world'], { env });
  t.equal(greet.stdout, 'hello big world\n');
  t.equal(greet.exitCode, 0);
  const code = await box.node(fixture('lib-app.js'), ['greet'], { env: { ...env, GREET_CODE: '5' } });
  t.equal(code.exitCode, 5, 'the returned number is the exit code');

  const help = await box.node(fixture('lib-app.js'), ['--help'], { env });
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /^Usage: app <start\|stop\|restart\|status\|reload\|run\|greet> \[options\]\n/);
  t.match(help.stdout, /\n {2}greet +say hello to the words that follow\n/);
  t.match(help.stdout, /\n {2}run +run the worker in the foreground\n/);

  const unknown = await box.node(fixture('lib-app.js'), ['launch'], { env });
  t.equal(unknown.exitCode, 2);
  t.equal(unknown.stderr, "ERROR: Unknown action 'launch'; valid actions: start, stop, restart, status, reload, run, greet\nUsage: app <start|stop|restart|status|reload|run|greet> [options]\n");
  const badFlag = await box.node(fixture('lib-app.js'), ['stop', '--bogus'], { env });
  t.equal(badFlag.exitCode, 2);
  t.match(badFlag.stderr, /^ERROR: Unknown option '--bogus'/);
  const badValue = await box.node(fixture('lib-app.js'), ['stop', '--stop-timeout', 'soon'], { env });
  t.equal(badValue.exitCode, 2);
  t.match(badValue.stderr, /^ERROR: --stop-timeout must be a number of seconds >= 0, not 'soon'\n/);

  const status = await box.node(fixture('lib-app.js'), ['status', '--json'], { env });
  t.same(JSON.parse(status.stdout), { name: 'app', pid: null, status: 'not running' });
  t.equal(status.exitCode, 3);
  const other = join(box.dir, 'other.pid');
  const started = await box.node(fixture('lib-app.js'), ['start', '--pid-file', other], { env });
  t.equal(started.stdout, 'Starting app ... OK\n', 'flags override the options');
  t.ok(readPid(other) > 0);
  t.equal((await box.node(fixture('lib-app.js'), ['stop', '--pid-file', other], { env })).exitCode, 0);
});

t.test("closeOpenFiles: false passes the caller's own fds on at the same numbers", async (t) => {
  const box = sandbox(t);
  const kept = join(box.dir, 'kept.txt');
  const env = { ...box.env, APP_PID_FILE: box.pidFile, KEEP_FILE: kept };
  // The re-run script opens the file itself too, so the daemon holds it once of its own.
  const keptCount = (pid: number) => openFds(pid).filter((fd) => fdTarget(pid, fd) === kept).length;

  const open = await box.node(fixture('keeper.js'), ['start'], { env: { ...env, CLOSE: '0' } });
  t.equal(open.exitCode, 0, open.stderr);
  const fd = Number(/^fd (\d+)/.exec(open.stdout)?.[1]);
  const pid = readPid(box.pidFile);
  t.equal(fdTarget(pid, fd), kept, `fd ${fd} kept at the same number (${describeFds(pid)})`);
  t.equal(keptCount(pid), 2, 'inherited, plus its own');
  t.equal((await box.node(fixture('keeper.js'), ['stop'], { env })).exitCode, 0);

  const closed = await box.node(fixture('keeper.js'), ['start'], { env: { ...env, CLOSE: '1' } });
  t.equal(closed.exitCode, 0, closed.stderr);
  t.equal(keptCount(readPid(box.pidFile)), 1, 'by default it is not inherited: only its own');
});

t.test('readyPort: a library daemon is OK once its port accepts connections', async (t) => {
  const box = sandbox(t);
  const port = await freePort();
  const env = { ...box.env, APP_PID_FILE: box.pidFile, APP_PORT: String(port) };
  const started = Date.now();
  const r = await box.node(fixture('lib-server.js'), ['start'], { env });
  t.equal(r.stdout, 'Starting libweb ... OK\n');
  const took = Date.now() - started;
  t.ok(took >= 300 && took < 10_000, `after the server listened, long before the 30 s window (${took} ms)`);
  t.equal((await box.node(fixture('lib-server.js'), ['stop'], { env })).exitCode, 0);
});
