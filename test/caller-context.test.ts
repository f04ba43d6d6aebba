// What the caller meant, kept when the daemon runs elsewhere (issue 27, "the first hour"):
// relative paths given to the library resolve against the caller's cwd, not the daemon's `/`; an
// unprivileged caller asking for another user is refused before anything is made; a start whose
// command died says where to look.
import t, { type Test } from 'tap';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { BIN, fixture, libAppEnv, readPid, ROOT, RUNTIME, sandbox, waitFor, type Sandbox } from './helpers.js';
import { asUser, canSwitchUsers, freshUids, installForOthers } from './users-harness.js';

const APP = fixture('lib-app.js');

/** Names no other test uses, so "nothing at /run/NAME" says something. */
const relativePaths = (box: Sandbox) => {
  const tag = box.token.slice(0, 8);
  return { pid: `run/app-${tag}.pid`, out: `logs-${tag}/app.out`, err: `logs-${tag}/app.err`, tag };
};

/** Nothing landed where the daemon's cwd (`/`) would have put the relative paths. */
function nothingAtRoot(t: Test, tag: string): void {
  t.notOk(existsSync(`/run/app-${tag}.pid`), `nothing at /run/app-${tag}.pid`);
  t.notOk(existsSync(`/run/app-${tag}.pid.lock`), 'nor its lock file');
  t.notOk(existsSync(`/logs-${tag}`), `nor /logs-${tag}`);
}

/** The environment an ordinary user's run gets: only what the fixture and the teardown need. */
function userEnv(box: Sandbox, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DAEMONOCLE_TEST_TOKEN: box.token, ...extra };
  if (process.env.DAEMONOCLE_TEST_RUN) env.DAEMONOCLE_TEST_RUN = process.env.DAEMONOCLE_TEST_RUN;
  return env;
}

/** lib-app.js where an ordinary user can import 'daemonocle' from it: beside the readable package. */
function appForOthers(t: Test): { node: string; bin: string; app: string } {
  const { node, bin } = installForOthers(t);
  if (bin === BIN) return { node, bin, app: APP };
  const pkg = bin.slice(0, -relative(ROOT, BIN).length);
  const app = join(pkg, relative(ROOT, APP));
  mkdirSync(dirname(app), { recursive: true });
  copyFileSync(APP, app);
  return { node, bin, app };
}

t.test('library: relative pidFile, stdoutFile and stderrFile are the caller\'s, as root', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: as another user /run is not writable anyway (next test)');
  const box = sandbox(t);
  const rel = relativePaths(box);
  const env = libAppEnv(box, { APP_PID_FILE: rel.pid, APP_STDOUT: rel.out, APP_STDERR: rel.err });
  const app = (action: string) => box.node(APP, [action], { env, cwd: box.dir });

  const start = await app('start');
  t.equal(start.stdout, 'Starting app ... OK\n');
  t.equal(start.stderr, '');
  t.equal(start.exitCode, 0);
  const pidFile = join(box.dir, rel.pid);
  const pid = readPid(pidFile);
  t.equal(readlinkSync(`/proc/${pid}/cwd`), '/', 'the daemon still runs in /');
  const out = join(box.dir, rel.out);
  await waitFor('the worker\'s line', () => existsSync(out) && readFileSync(out, 'utf8').includes('\n'));
  t.equal(readFileSync(out, 'utf8'), `worker ready ${pid}\n`, 'its stdout file, with only the worker\'s output: no start of its own');
  t.ok(existsSync(join(box.dir, rel.err)), 'the stderr file beside it');
  nothingAtRoot(t, rel.tag);

  const status = await app('status');
  t.match(status.stdout, new RegExp(`^app -- pid: ${pid}, status: `));
  t.equal(status.exitCode, 0);
  const stop = await app('stop');
  t.equal(stop.stdout, 'Stopping app ... OK\n');
  t.equal(stop.exitCode, 0);
  t.notOk(existsSync(pidFile), 'the pid file is gone');
  t.equal(readFileSync(join(box.dir, 'callback.log'), 'utf8'), 'Terminated by SIGTERM (15)|-15\n');
  nothingAtRoot(t, rel.tag);
  t.same(box.processes(), [], 'nothing left running');
});

t.test('library: relative paths as an ordinary user', async (t) => {
  if (!canSwitchUsers(t) || process.getuid?.() !== 0) return t.skip('needs root and setpriv to act as an ordinary uid');
  const box = sandbox(t);
  const [user] = freshUids();
  chownSync(box.dir, user, user);
  const { node, app } = appForOthers(t);
  const rel = relativePaths(box);
  const env = userEnv(box, { APP_PID_FILE: rel.pid, APP_STDOUT: rel.out, APP_STDERR: rel.err, APP_CALLBACK_LOG: join(box.dir, 'callback.log') });
  const act = (action: string) => asUser(user, [node, app, action], env, box.dir);

  const start = await act('start');
  t.equal(start.stdout, 'Starting app ... OK\n');
  t.equal(start.stderr, '');
  t.equal(start.exitCode, 0);
  const pidFile = join(box.dir, rel.pid);
  const pid = readPid(pidFile);
  const out = join(box.dir, rel.out);
  await waitFor('the worker\'s line', () => existsSync(out) && readFileSync(out, 'utf8').includes('\n'));
  t.equal(readFileSync(out, 'utf8'), `worker ready ${pid}\n`);
  const status = await act('status');
  t.match(status.stdout, new RegExp(`^app -- pid: ${pid}, status: `));
  t.equal(status.exitCode, 0);
  const stop = await act('stop');
  t.equal(stop.stdout, 'Stopping app ... OK\n');
  t.equal(stop.exitCode, 0);
  t.notOk(existsSync(pidFile));
  t.equal(readFileSync(join(box.dir, 'callback.log'), 'utf8'), 'Terminated by SIGTERM (15)|-15\n');
  nothingAtRoot(t, rel.tag);
  t.same(box.processes(), [], 'nothing left running');
});

t.test('an ordinary user asking for another user or group is refused before anything is made', async (t) => {
  if (!canSwitchUsers(t) || process.getuid?.() !== 0) return t.skip('needs root and setpriv to act as an ordinary uid');
  const box = sandbox(t);
  const [user] = freshUids();
  chownSync(box.dir, user, user);
  const { node, bin, app } = appForOthers(t);
  const dir = join(box.dir, 'made');
  const pidFile = join(dir, 'app.pid');
  const env = userEnv(box, {});
  const refusedUser = 'ERROR: Cannot run as user daemon: only root can change the user (operation not permitted)\n';
  const cli = (args: string[]) => asUser(user, [node, bin, ...args], env, box.dir);

  for (const action of ['start', 'restart', 'run']) {
    const r = await cli([action, '--user', 'daemon', '--pid-file', pidFile, '--', 'sleep', '1000']);
    t.same(r, { stdout: '', stderr: refusedUser, exitCode: 1 }, `${action} --user daemon`);
  }
  const group = await cli(['start', '--group', 'daemon', '--pid-file', pidFile, '--', 'sleep', '1000']);
  t.same(group, { stdout: '', stderr: 'ERROR: Cannot run as group daemon: only root can change the group (operation not permitted)\n', exitCode: 1 });
  for (const detach of ['true', 'false']) {
    const lib = await asUser(user, [node, app, 'start'], { ...env, APP_PID_FILE: pidFile, APP_UID: 'daemon', APP_DETACH: detach }, box.dir);
    t.same(lib, { stdout: '', stderr: refusedUser, exitCode: 1 }, `the library, detach ${detach}`);
  }
  t.notOk(existsSync(dir), 'no directory made');
  t.same(box.processes(), [], 'nothing launched');

  // --user naming only the owner is not refused.
  const stop = await cli(['stop', '--user', 'daemon', '--pid-file', pidFile]);
  t.same(stop, { stdout: '', stderr: 'WARNING: app is not running\n', exitCode: 0 });

  // Its own uid and gid: nothing to change, so it just runs.
  const self = await cli(['start', '--user', String(user), '--group', String(user), '--pid-file', pidFile, '--', 'sleep', '1000']);
  t.same(self, { stdout: 'Starting sleep ... OK\n', stderr: '', exitCode: 0 }, 'start --user SELF --group SELF');
  const pid = readPid(pidFile);
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`\\nUid:\\t${user}\\t`));
  t.same(await cli(['stop', '--name', 'sleep', '--pid-file', pidFile]), { stdout: 'Stopping sleep ... OK\n', stderr: '', exitCode: 0 });
  t.same(box.processes(), [], 'nothing left running');
});

t.test('a start whose command died says the daemon runs in / and where its error output went', async (t) => {
  const box = sandbox(t);
  writeFileSync(join(box.dir, 'server.js'), 'process.exit(3)\n');
  const start = (extra: string[]) => box.cli(['start', '--pid-file', box.pidFile, '--name', 'web', ...extra, '--', RUNTIME, 'server.js'], { cwd: box.dir });
  const inRoot = ' (the daemon runs in /; use --work-dir DIR or an absolute path)';
  const devNull = ' (its error output went to /dev/null; add --stderr FILE to see it)';

  const lost = await start([]);
  t.equal(lost.stdout, 'Starting web ... FAILED\n');
  t.match(lost.stderr, /^ERROR: web exited during startup with exit code \d+ \(the daemon/);
  t.equal(lost.stderr.replace(/code \d+/, 'code N'), `ERROR: web exited during startup with exit code N${inRoot}${devNull}\n`);
  t.equal(lost.exitCode, 1);

  const found = await start(['--work-dir', box.dir]);
  t.equal(found.stderr, `ERROR: web exited during startup with exit code 3${devNull}\n`, 'found in --work-dir: only the /dev/null hint');

  const err = join(box.dir, 'err.log');
  const logged = await start(['--stderr', err]);
  t.ok(logged.stderr.startsWith(`ERROR: web exited during startup with exit code `), 'with --stderr');
  t.equal(logged.stderr.split('\n')[0]!.replace(/code \d+/, 'code N'), `ERROR: web exited during startup with exit code N${inRoot}`, 'with --stderr: no /dev/null hint');
  t.ok(logged.stderr.split('\n').length > 2, 'and its error lines after it');

  const env = libAppEnv(box, { APP_MODE: 'type-error', APP_GRACE: '10' });
  delete env.APP_STDERR;
  const lib = await box.node(APP, ['start'], { env });
  t.same(lib, {
    stdout: 'Starting app ... FAILED\n',
    stderr: 'ERROR: app exited during startup with exit code 1 (its error output went to /dev/null; set the stderrFile option to see it)\n',
    exitCode: 1,
  }, 'the library names its own option');
  await waitFor('nothing left running', () => box.processes().length === 0);
});
