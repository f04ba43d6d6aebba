// The pid file's directory: made when missing, and never one another user controls. The attacks
// are tried by two ordinary users (raw uids through setpriv), as on a shared host.
import t from 'tap';
import type { Test } from 'tap';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { alive, fixture, libAppEnv, readPid, requireRoot, RUNTIME, sandbox, stat, waitFor, type Sandbox } from './helpers.js';
import { asUser, canSwitchUsers, freshUids, installForOthers } from './users-harness.js';

/** An ordinary user's environment: no XDG_RUNTIME_DIR (cron, su), none of tap's hooks, the sandbox's marker. */
const userEnv = (box: Sandbox): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: '/', DAEMONOCLE_TEST_TOKEN: box.token });

const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);

t.test('a pid file in a missing directory: the directory is made 0755 (relative to the cwd) and stop leaves it', async (t) => {
  const box = sandbox(t);
  const args = ['--pid-file', 'run/app/app.pid', '--name', 'app'];
  const start = await box.cli(['start', ...args, '--grace', '0.2', '--', 'sleep', '1000'], { cwd: box.dir });
  t.equal(start.stdout, 'Starting app ... OK\n');
  t.equal(start.exitCode, 0);
  t.equal(mode(join(box.dir, 'run')), '755', 'a missing parent is made 0755');
  t.equal(mode(join(box.dir, 'run', 'app')), '755', 'the directory is made 0755');
  t.equal(readPid(join(box.dir, 'run', 'app', 'app.pid')), box.processes()[0], 'the pid file is there');
  const stop = await box.cli(['stop', ...args], { cwd: box.dir });
  t.equal(stop.stdout, 'Stopping app ... OK\n');
  t.ok(statSync(join(box.dir, 'run', 'app')).isDirectory(), 'stop leaves the directory');
  t.same(readdirSync(join(box.dir, 'run', 'app')), [], 'and nothing in it: no pid file, no lock file');
});

t.test('run --pid-file and the library in front make the directory too', async (t) => {
  const box = sandbox(t);
  const runPid = join(box.dir, 'a', 'b', 'run.pid');
  const run = await box.cli(['run', '--pid-file', runPid, '--', 'sh', '-c', `cat ${runPid} >/dev/null && exit 3`]);
  t.equal(run.exitCode, 3, 'the command ran with its pid file in place');
  t.equal(mode(join(box.dir, 'a', 'b')), '755');
  t.notOk(existsSync(runPid), 'removed on exit, the directory kept');

  const libPid = join('lib', 'app.pid');
  const proc = spawn(RUNTIME, [fixture('lib-app.js'), 'start'], {
    env: libAppEnv(box, { APP_PID_FILE: libPid, APP_DETACH: 'false' }), cwd: box.dir, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  await waitFor('the worker', () => out.includes('worker ready'));
  t.equal(mode(join(box.dir, 'lib')), '755', 'the library resolved it against its cwd and made it');
  t.equal(readPid(join(box.dir, 'lib', 'app.pid')), proc.pid);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  t.ok(statSync(join(box.dir, 'lib')).isDirectory());
});

t.test('a directory that cannot be made: an ERROR naming it, exit 1, nothing started', async (t) => {
  const box = sandbox(t);
  const file = join(box.dir, 'plain-file');
  writeFileSync(file, '');
  const underFile = join(file, 'sub', 'app.pid');
  const start = await box.cli(['start', '--pid-file', underFile, '--name', 'app', '--', 'sleep', '1000']);
  t.equal(start.stderr, `ERROR: Cannot write pid file ${underFile}: not a directory\n`);
  t.equal(start.exitCode, 1);
  const impossible = '/proc/nope/run/app.pid';
  for (const action of ['start', 'restart', 'run']) {
    const r = await box.cli([action, '--pid-file', impossible, '--name', 'app', '--', 'sleep', '1000']);
    t.equal(r.stderr, `ERROR: Cannot create directory /proc/nope for pid file ${impossible}: no such file or directory\n`, `${action}: names it`);
    t.equal(r.exitCode, 1, `${action}: exit 1`);
  }
  const lib = await box.node(fixture('lib-app.js'), ['start'], { env: libAppEnv(box, { APP_PID_FILE: impossible }) });
  t.equal(lib.stderr, `ERROR: Cannot create directory /proc/nope for pid file ${impossible}: no such file or directory\n`, 'the library too');
  t.equal(lib.exitCode, 1);
  t.same(box.processes(), [], 'nothing started');
});

t.test('run --pid-file leaves no pid file when the command cannot run', async (t) => {
  const box = sandbox(t);
  const notExec = join(box.dir, 'not-executable');
  writeFileSync(notExec, '#!/bin/sh\n');
  const cases: [string, string[], number][] = [
    ['missing', ['--', 'no-such-command-here'], 127],
    ['not executable', ['--', notExec], 126],
    ['unopenable --stdout', ['--stdout', join(notExec, 'out.log'), '--', 'true'], 1],
  ];
  for (const [label, args, code] of cases) {
    const r = await box.cli(['run', '--pid-file', box.pidFile, ...args]);
    t.equal(r.exitCode, code, `${label}: exit ${code}`);
    t.match(r.stderr, /^ERROR: /, `${label}: an ERROR line`);
    t.notOk(existsSync(box.pidFile), `${label}: no pid file left`);
  }
});

t.test('as root, --user/--group own the directory start makes; stop and status trust it when told so', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const pidFile = join(box.dir, 'svc', 'app.pid');
  const owner = ['--user', 'nobody', '--group', 'nogroup'];
  const start = await box.cli(['start', '--pid-file', pidFile, '--name', 'app', ...owner, '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stdout, 'Starting app ... OK\n');
  const st = statSync(join(box.dir, 'svc'));
  t.same([st.uid, st.gid, mode(join(box.dir, 'svc'))], [65534, 65534, '755'], 'owned by nobody:nogroup, 0755');
  const untold = await box.cli(['stop', '--pid-file', pidFile, '--name', 'app']);
  t.equal(untold.stderr, `ERROR: Cannot use pid file ${pidFile}: its directory ${join(box.dir, 'svc')} is owned by uid 65534, not root; refusing to trust it (if uid 65534 is the daemon's own user, say so with --user)\n`);
  t.equal(untold.exitCode, 1);
  const status = await box.cli(['status', '--pid-file', pidFile, '--name', 'app', '--user', 'nobody']);
  t.match(status.stdout, /^app -- pid: \d+, status: /);
  const stop = await box.cli(['stop', '--pid-file', pidFile, '--name', 'app', '--user', 'nobody']);
  t.equal(stop.stdout, 'Stopping app ... OK\n');
  t.same(box.processes(), []);
});

/** A victim: a process of uid's that the other user would like killed. */
async function victimOf(t: Test, box: Sandbox, uid: number): Promise<number> {
  const proc = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', 'sleep', '1000'], { env: box.env, stdio: 'ignore' });
  t.teardown(() => {
    proc.kill('SIGKILL');
  });
  await waitFor('the victim', () => stat(proc.pid!)?.state === 'S' && ownerOf(proc.pid!) === uid);
  return proc.pid!;
}

/** The uid that owns /proc/PID: the process's real user. */
const ownerOf = (pid: number) => {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return -1;
  }
};

t.test('two ordinary users: a planted fallback pid directory is refused, and the victim lives', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const { node, bin } = installForOthers(t);
  const [victim, attacker] = freshUids();
  const planted = `/tmp/daemonocle-${victim}`;
  t.teardown(() => rmSync(planted, { recursive: true, force: true }));
  const env = userEnv(box);
  const cli = (uid: number, args: string[]) => asUser(uid, [node, bin, ...args], env);
  const target = await victimOf(t, box, victim);

  // The attacker gets there first: a world-writable directory with a pid file naming the victim's process.
  t.equal((await asUser(attacker, ['mkdir', '-m', '0777', planted], env)).exitCode, 0, 'the attacker made the directory');
  const planting = `printf '%s\\n%s\\n' ${target} ${stat(target)!.startTime} > ${planted}/x.pid`;
  t.equal((await asUser(attacker, ['sh', '-c', planting], env)).exitCode, 0, 'and planted x.pid');

  const refusal = `ERROR: Cannot use pid directory ${planted}: it is owned by uid ${attacker}, not uid ${victim}; refusing to trust it\n`;
  const stop = await cli(victim, ['stop', '--name', 'x']);
  t.equal(stop.stderr, refusal, 'stop refuses the directory');
  t.equal(stop.stdout, '', 'and says nothing of stopping');
  t.equal(stop.exitCode, 1);
  t.ok(alive(target), 'the victim lives');
  const status = await cli(victim, ['status', '--name', 'x']);
  t.equal(status.stderr, refusal);
  t.equal(status.exitCode, 4);
  const start = await cli(victim, ['start', '--name', 'y', '--', 'sleep', '1000']);
  t.equal(start.stderr, refusal, 'start refuses to write there');
  t.equal(start.exitCode, 1);
  t.same(readdirSync(planted), ['x.pid'], 'nothing written into it');

  // A symlink to a directory of the attacker's, and one of the victim's own made too open.
  rmSync(planted, { recursive: true });
  const elsewhere = join(box.dir, 'attacker');
  mkdirSync(elsewhere, { mode: 0o700 });
  chownSync(elsewhere, attacker, attacker);
  symlinkSync(elsewhere, planted);
  const viaLink = await cli(victim, ['stop', '--name', 'x']);
  t.equal(viaLink.stderr, `ERROR: Cannot use pid directory ${planted}: it is a symbolic link; refusing to trust it\n`);
  rmSync(planted);
  mkdirSync(planted, { mode: 0o755 });
  chownSync(planted, victim, victim);
  chmodSync(planted, 0o755);
  const open = await cli(victim, ['status', '--name', 'x']);
  t.equal(open.stderr, `ERROR: Cannot use pid directory ${planted}: other users have access to it (mode 755, not 700); refusing to trust it\n`);
  t.equal(open.exitCode, 4);
  t.ok(alive(target), 'the victim still lives');

  // Without the attacker, the victim's own start makes the directory 0700 and works.
  rmSync(planted, { recursive: true });
  const own = await cli(victim, ['start', '--name', 'y', '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(own.stdout, 'Starting y ... OK\n');
  const made = lstatSync(planted);
  t.same([made.isDirectory(), made.uid, (made.mode & 0o777).toString(8)], [true, victim, '700'], 'made 0700, the victim\'s own');
  t.equal((await cli(victim, ['stop', '--name', 'y'])).stdout, 'Stopping y ... OK\n');
});

t.test('two ordinary users: pid files the attacker controls are refused, wherever they are named', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const { node, bin } = installForOthers(t);
  const [victim, attacker] = freshUids();
  chmodSync(box.dir, 0o755);
  const env = userEnv(box);
  const cli = (args: string[]) => asUser(victim, [node, bin, ...args], env);
  const target = await victimOf(t, box, victim);
  const content = `${target}\n${stat(target)!.startTime}\n`;

  // A sticky, world-writable directory like /tmp: the planted file is the attacker's own.
  const sticky = join(box.dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const inSticky = join(sticky, 'x.pid');
  writeFileSync(inSticky, content);
  chownSync(inSticky, attacker, attacker);
  const stop = await cli(['stop', '--pid-file', inSticky]);
  t.equal(stop.stderr, `ERROR: Cannot use pid file ${inSticky}: it is owned by uid ${attacker}, not uid ${victim} or root; refusing to trust it\n`);
  t.equal(stop.exitCode, 1);

  // A directory the attacker owns, holding a file that looks like the victim's.
  const theirs = join(box.dir, 'theirs');
  mkdirSync(theirs, { mode: 0o755 });
  chownSync(theirs, attacker, attacker);
  const inTheirs = join(theirs, 'x.pid');
  writeFileSync(inTheirs, content);
  chownSync(inTheirs, victim, victim);
  const stop2 = await cli(['stop', '--pid-file', inTheirs]);
  t.equal(stop2.stderr, `ERROR: Cannot use pid file ${inTheirs}: its directory ${theirs} is owned by uid ${attacker}, not uid ${victim} or root; refusing to trust it\n`);

  // A directory of the victim's own that others may write to, without the sticky bit.
  const loose = join(box.dir, 'loose');
  mkdirSync(loose);
  chownSync(loose, victim, victim);
  chmodSync(loose, 0o777);
  const inLoose = join(loose, 'x.pid');
  const stop3 = await cli(['stop', '--pid-file', inLoose]);
  t.equal(stop3.stderr, `ERROR: Cannot use pid file ${inLoose}: its directory ${loose} is writable by other users (mode 777); refusing to trust it\n`);
  t.ok(alive(target), 'the victim lives through all three');

  // The victim's own file in a sticky directory is fine: stop works on a real daemon.
  const mine = join(sticky, 'mine.pid');
  const start = await cli(['start', '--pid-file', mine, '--name', 'mine', '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stdout, 'Starting mine ... OK\n');
  t.equal(statSync(mine).uid, victim);
  t.equal((await cli(['stop', '--pid-file', mine, '--name', 'mine'])).stdout, 'Stopping mine ... OK\n');
  t.ok(alive(target));
});
