// The library: a script with a Daemon, run as a user runs it.
import t from 'tap';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, fixture, libAppEnv, readPid, ROOT, sandbox, stat, waitFor, type Sandbox } from './helpers.js';

const APP = fixture('lib-app.js');

const appEnv = libAppEnv;

const app = (box: Sandbox, args: string[], extra: Record<string, string> = {}) => box.node(APP, args, { env: appEnv(box, extra) });
const callbacks = (box: Sandbox) => {
  const path = join(box.dir, 'callback.log');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
};

t.test('the basic example: start, status, stop, restart with the CLI messages', async (t) => {
  const box = sandbox(t);
  const env = { ...box.env, EXAMPLE_LOG: join(box.dir, 'example.log'), EXAMPLE_PID_FILE: box.pidFile };
  const run = (action: string) => box.node(join(ROOT, 'examples', 'basic.js'), [action], { env });
  const start = await run('start');
  t.equal(start.stdout, 'Starting basic.js ... OK\n');
  t.equal(start.exitCode, 0);
  const pid = readPid(box.pidFile);
  const st = stat(pid)!;
  t.equal(st.ppid, 1, 'parent is init');
  t.not(st.session, pid, 'not a session leader');
  t.equal(st.ttyNr, 0, 'no tty');
  t.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /examples\/basic\.js\0start/, 'the worker runs in the re-run script');

  const status = await run('status');
  t.match(status.stdout, new RegExp(`^basic\\.js -- pid: ${pid}, status: \\w+, uptime: \\d+s, %cpu: [\\d.]+, %mem: [\\d.]+\\n$`));
  t.equal(status.exitCode, 0);

  const again = await run('start');
  t.equal(again.stderr, `WARNING: basic.js already running with PID ${pid}\n`);
  t.equal(again.exitCode, 0);

  const restart = await run('restart');
  t.equal(restart.stdout, 'Stopping basic.js ... OK\nStarting basic.js ... OK\n');
  t.equal(restart.exitCode, 0);
  const fresh = readPid(box.pidFile);
  t.not(fresh, pid);
  t.notOk(alive(pid));

  const stop = await run('stop');
  t.equal(stop.stdout, 'Stopping basic.js ... OK\n');
  t.notOk(alive(fresh));
  const none = await run('status');
  t.equal(none.stdout, 'basic.js -- not running\n');
  t.equal(none.exitCode, 3);
  const log = readFileSync(join(box.dir, 'example.log'), 'utf8');
  t.match(log, /\[INFO\] Daemon is starting\n.*\[DEBUG\] Still running\n/);
  t.match(log, /\[DEBUG\] Terminated by SIGTERM \(15\) \(code -15\)\n$/);
});

t.test('shutdown callback: one call with the right message and code for each way out (detached)', async (t) => {
  const cases: [string, Record<string, string>, string | null, string][] = [
    ['SIGTERM', { APP_MODE: 'ready' }, 'SIGTERM', 'Terminated by SIGTERM (15)|-15'],
    ['SIGINT', { APP_MODE: 'ready' }, 'SIGINT', 'Terminated by SIGINT (2)|-2'],
    ['SIGQUIT', { APP_MODE: 'ready' }, 'SIGQUIT', 'Terminated by SIGQUIT (3)|-3'],
    ['worker returned', { APP_MODE: 'return', APP_DELAY_MS: '300', APP_GRACE: '0.1' }, null, 'Shutting down normally|0'],
    ['process.exit(3)', { APP_MODE: 'exit', APP_DELAY_MS: '300', APP_GRACE: '0.1' }, null, 'Exiting with non-zero exit code 3|3'],
    ['rejection later', { APP_MODE: 'reject-later' }, null, 'Dying due to unhandled RangeError: rejected later|1'],
  ];
  for (const [label, env, signal, expected] of cases) {
    const box = sandbox(t);
    const start = await app(box, ['start'], env);
    t.equal(start.stdout, 'Starting app ... OK\n', `${label}: started`);
    const pid = readPid(box.pidFile);
    if (signal) process.kill(pid, signal);
    await waitFor(`${label}: exit`, () => !alive(pid));
    t.equal(callbacks(box), `${expected}\n`, `${label}: callback told '${expected}', once`);
    t.notOk(existsSync(box.pidFile), `${label}: the daemon removed its pid file`);
  }
});

t.test('a worker that throws 0.2 s after start: FAILED, exit 1, callback told why', async (t) => {
  const box = sandbox(t);
  // A window far longer than the throw, so a slow boot on a loaded machine cannot outlast it.
  const r = await app(box, ['start'], { APP_MODE: 'throw', APP_GRACE: '30' });
  t.equal(r.stdout, 'Starting app ... FAILED\n');
  t.match(r.stderr, /^ERROR: app exited during startup with exit code 1\nError: boom\n {4}at /, 'the stack from its stderr file');
  t.equal(r.exitCode, 1);
  t.equal(callbacks(box), 'Dying due to unhandled Error: boom|1\n');
  t.notOk(existsSync(box.pidFile));
  const typeError = await app(box, ['start'], { APP_MODE: 'type-error', APP_GRACE: '30' });
  t.equal(typeError.exitCode, 1);
  // V8 and JavaScriptCore (Bun) word the same TypeError differently.
  t.match(callbacks(box), /Dying due to unhandled TypeError: (Cannot read properties of null \(reading 'property'\)|null is not an object \(evaluating '[^']+'\))\|1\n$/);
});

t.test('ready() ends the startup window early', async (t) => {
  const box = sandbox(t);
  let started = Date.now();
  const r = await app(box, ['start'], { APP_MODE: 'ready', APP_GRACE: '30' });
  const readyMs = Date.now() - started;
  t.equal(r.stdout, 'Starting app ... OK\n');
  t.ok(readyMs < 15_000, `OK after ${readyMs} ms, well inside the 30 s window`);
  t.equal((await app(box, ['stop'])).exitCode, 0);
  started = Date.now();
  const quiet = await app(box, ['start'], { APP_MODE: 'quiet', APP_GRACE: '1.5' });
  t.equal(quiet.stdout, 'Starting app ... OK\n');
  t.ok(Date.now() - started >= 1500, 'without ready(), the whole window');
});

t.test('reload: a new process takes over the pid file, with no moment of "not running"', async (t) => {
  const box = sandbox(t);
  t.equal((await app(box, ['start'], { APP_MODE: 'ready' })).exitCode, 0);
  const old = readPid(box.pidFile);
  const oldStart = stat(old)!.startTime;
  let gaps = 0;
  let watching = true;
  // What status checks, in a tight loop: the pid file names a live process with the recorded start time.
  const watcher = (async () => {
    while (watching) {
      try {
        const [pid, start] = readFileSync(box.pidFile, 'utf8').split('\n').map(Number);
        const st = stat(pid!);
        if (!st || st.state === 'Z' || st.startTime !== start) gaps++;
      } catch {
        gaps++;
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  const statuses: number[] = [];
  const statusLoop = (async () => {
    while (watching) statuses.push((await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app'])).exitCode);
  })();
  try {
    const reload = await app(box, ['reload']);
    t.equal(reload.stdout, `Reloading app ... OK (SIGHUP sent to PID ${old})\n`);
    await waitFor('a new pid', () => readPid(box.pidFile) !== old);
    await waitFor('the old process gone', () => !alive(old));
    await waitFor('the takeover message', () => readFileSync(join(box.dir, 'out.log'), 'utf8').includes('Reloading app ... OK'));
    // Keep looking a little after the takeover.
    const until = statuses.length + 2;
    await waitFor('two more status calls', () => statuses.length >= until);
  } finally {
    watching = false;
    await Promise.all([watcher, statusLoop]);
  }
  const fresh = readPid(box.pidFile);
  t.not(fresh, old, 'new pid in the pid file');
  t.ok(alive(fresh));
  t.not(stat(fresh)!.startTime, oldStart);
  t.equal(gaps, 0, 'the pid file always named a live daemon');
  t.ok(statuses.length > 0 && statuses.every((c) => c === 0), `status said running every time (${statuses.length} calls)`);
  t.equal(callbacks(box), 'Shutting down for reload|0\n');
  t.equal(stat(fresh)!.ppid, 1, 'the new daemon is re-parented to init');
  const stop = await app(box, ['stop']);
  t.equal(stop.stdout, 'Stopping app ... OK\n');
  t.equal(callbacks(box), 'Shutting down for reload|0\nTerminated by SIGTERM (15)|-15\n');
});

t.test('the file-watcher example reloads itself when its config changes', async (t) => {
  const box = sandbox(t);
  const config = join(box.dir, 'app.conf');
  const log = join(box.dir, 'watcher.log');
  writeFileSync(config, 'a=1\n');
  const env = { ...box.env, EXAMPLE_CONFIG: config, EXAMPLE_LOG: log, EXAMPLE_PID_FILE: box.pidFile, EXAMPLE_INTERVAL_MS: '50' };
  const run = (action: string) => box.node(join(ROOT, 'examples', 'file-watcher.js'), [action], { env });
  t.equal((await run('start')).stdout, 'Starting file-watcher.js ... OK\n');
  const old = readPid(box.pidFile);
  const later = new Date(Date.now() + 2000);
  writeFileSync(config, 'a=2\n');
  utimesSync(config, later, later);
  await waitFor('the reload', () => readPid(box.pidFile) !== old && !alive(old));
  const fresh = readPid(box.pidFile);
  t.ok(alive(fresh));
  await waitFor('the new watcher', () => readFileSync(log, 'utf8').includes(`[${fresh}] watching`));
  t.match(readFileSync(log, 'utf8'), new RegExp(`\\[${old}\\] config changed, reloading\\n.*\\[${old}\\] Shutting down for reload \\(code 0\\)\\n`));
  t.equal((await run('stop')).stdout, 'Stopping file-watcher.js ... OK\n');
});
