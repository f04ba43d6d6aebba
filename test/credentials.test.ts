// Privileges drop completely (SPEC "Safe as root"): a --user uid with no passwd entry needs
// --group (root's gid 0 is never kept), and the command and its --ready-cmd run as the user, with
// the user's own HOME, USER, LOGNAME and SHELL, for start, run and the library.
import t from 'tap';
import type { Test } from 'tap';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readPid, requireRoot, sandbox, waitFor, type Sandbox } from './helpers.js';
import { canSwitchUsers, freshUids, installForOthers } from './users-harness.js';

const USAGE = 'Usage: daemonocle <start|stop|restart|status|reload|run|list> [options] [-- command [args...]]\n';
/** The caller's login variables, as root has them: none of them may reach the command. */
const ROOT_LOGIN = { HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/bash' };
const LOGIN_VARS = ['HOME', 'USER', 'LOGNAME', 'SHELL'] as const;


/** nobody's passwd entry, as the daemon should see it. */
function nobody(): { uid: number; gid: number; home: string; shell: string } {
  const row = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((r) => r[0] === 'nobody');
  if (!row) throw new Error('no nobody in /etc/passwd');
  return { uid: Number(row[2]), gid: Number(row[3]), home: row[5]!, shell: row[6]! };
}

/** A sandbox others can enter, with a sticky world-writable `w` for what the user's processes write. */
function userBox(t: Test): { box: Sandbox; w: string; env: NodeJS.ProcessEnv } {
  const box = sandbox(t);
  chmodSync(box.dir, 0o755);
  const w = join(box.dir, 'w');
  mkdirSync(w);
  chmodSync(w, 0o1777);
  return { box, w, env: { ...box.env, ...ROOT_LOGIN } };
}

/** Real, effective, saved and filesystem ids, and the supplementary groups, from /proc/PID/status. */
function idsOf(pid: number): { uid: string; gid: string; groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => (new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).join(' ');
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

/** The login variables in /proc/PID/environ (absent ones left out). */
function loginEnvOf(pid: number): Record<string, string> {
  const vars = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  const found: Record<string, string> = {};
  for (const v of vars) {
    const eq = v.indexOf('=');
    const key = v.slice(0, eq);
    if ((LOGIN_VARS as readonly string[]).includes(key)) found[key] = v.slice(eq + 1);
  }
  return found;
}

const four = (n: number) => `${n} ${n} ${n} ${n}`;

t.test('a --user uid with no passwd entry needs --group: exit 2, nothing made or started; with --group it gets that gid and no group 0', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const { box, w, env } = userBox(t);
  const [uid] = freshUids();
  const command = ['sh', '-c', `id > ${w}/ran; exec sleep 1000`];
  for (const action of ['start', 'restart', 'run']) {
    const r = await box.cli([action, '--pid-file', box.pidFile, '--user', String(uid), '--grace', '0.2', '--', ...command], { env });
    t.equal(r.stderr, `ERROR: --user ${uid} has no passwd entry, so no group of its own: give --group too\n${USAGE}`, `${action}: says why`);
    t.equal(r.exitCode, 2, `${action}: exit 2`);
  }
  t.same(readdirSync(box.dir), ['w'], 'no pid file, no lock file');
  t.same(readdirSync(w), [], 'the command never ran');
  t.same(box.processes(), [], 'nothing started');
  // stop and status take --user as the daemon's owner: no group needed there.
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--user', String(uid)], { env });
  t.equal(stop.exitCode, 0, 'stop --user UID alone is still fine');

  const start = await box.cli(['start', '--pid-file', box.pidFile, '--user', String(uid), '--group', String(uid), '--grace', '0.2', '--', ...command], { env });
  t.equal(start.exitCode, 0, 'with --group it starts');
  const pid = readPid(box.pidFile);
  t.same(idsOf(pid), { uid: four(uid), gid: four(uid), groups: '' }, 'uid and gid changed, no supplementary group (no 0)');
  t.equal(readFileSync(join(w, 'ran'), 'utf8'), `uid=${uid} gid=${uid} groups=${uid}\n`, 'id agrees');
  t.same(loginEnvOf(pid), {}, "no passwd entry: none of root's HOME, USER, LOGNAME, SHELL");
});

t.test('the library: a uid with no passwd entry and no gid is a TypeError naming the option', async (t) => {
  const { Daemon } = await import('../dist/index.js');
  const [uid] = freshUids();
  t.throws(() => new Daemon({ uid, worker: () => {} }), {
    name: 'TypeError',
    message: `Daemon option 'uid' ${uid} (number) has no passwd entry, so no group of its own: give 'gid' too`,
  });
  t.throws(() => new Daemon({ uid: String(uid), worker: () => {} }), { name: 'TypeError', message: /^Daemon option 'uid' '\d+' \(string\) has no passwd entry/ });
  t.doesNotThrow(() => new Daemon({ uid, gid: uid, worker: () => {} }), 'with gid it is fine');
  t.doesNotThrow(() => new Daemon({ uid: 'nobody', worker: () => {} }), 'a named user has its passwd gid');
});

t.test("start --user nobody (no --group): nobody's passwd gid and groups, nobody's HOME, USER, LOGNAME, SHELL; the same for its uid", async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const { box, env } = userBox(t);
  const who = nobody();
  const expectedEnv = { HOME: who.home, USER: 'nobody', LOGNAME: 'nobody', SHELL: who.shell };
  for (const user of ['nobody', String(who.uid)]) {
    const pidFile = join(box.dir, `${user}.pid`);
    const start = await box.cli(['start', '--pid-file', pidFile, '--user', user, '--grace', '0.2', '--', 'sleep', '1000'], { env });
    t.equal(start.exitCode, 0, `--user ${user} starts`);
    const pid = readPid(pidFile);
    const ids = idsOf(pid);
    t.equal(ids.uid, four(who.uid), `--user ${user}: runs as nobody`);
    t.equal(ids.gid, four(who.gid), `--user ${user}: with nobody's passwd gid, not root's 0`);
    t.notMatch(` ${ids.groups} `, / 0 /, `--user ${user}: no group 0 among the supplementary ones`);
    t.same(loginEnvOf(pid), expectedEnv, `--user ${user}: nobody's login variables, not root's`);
    const stop = await box.cli(['stop', '--pid-file', pidFile, '--user', 'nobody'], { env });
    t.equal(stop.exitCode, 0);
  }
});

t.test("run --user: the command gets the user's login variables (or none for a uid without an entry)", async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const { box, env } = userBox(t);
  const who = nobody();
  const [uid] = freshUids();
  const printed = (stdout: string) => Object.fromEntries(stdout.split('\n').filter((l) => /^(HOME|USER|LOGNAME|SHELL)=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
  const named = await box.cli(['run', '--user', 'nobody', '--', 'env'], { env });
  t.equal(named.exitCode, 0);
  t.same(printed(named.stdout), { HOME: who.home, USER: 'nobody', LOGNAME: 'nobody', SHELL: who.shell }, "nobody's");
  const raw = await box.cli(['run', '--user', String(uid), '--group', String(uid), '--', 'env'], { env });
  t.equal(raw.exitCode, 0);
  t.same(printed(raw.stdout), {}, "a uid without an entry: none of root's");
  const groupOnly = await box.cli(['run', '--group', String(uid), '--', 'env'], { env });
  t.same(printed(groupOnly.stdout), ROOT_LOGIN, '--group alone changes no user: the caller\'s own stay');
});

t.test('--ready-cmd runs as the --user, with the same environment, for start and run', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const { box, w, env } = userBox(t);
  const who = nobody();
  const [uid] = freshUids();
  // Written atomically: the reader sees the whole line or nothing.
  const probe = (file: string) => `echo "$(id -u):$(id -g):$(id -G):\${HOME-unset}:\${USER-unset}" > ${file}.tmp && mv ${file}.tmp ${file}`;

  const start = await box.cli(['start', '--pid-file', box.pidFile, '--user', 'nobody', '--ready-cmd', probe(`${w}/start`), '--start-timeout', '20', '--', 'sleep', '1000'], { env });
  t.equal(start.exitCode, 0, 'start is ready once the probe succeeded');
  t.equal(readFileSync(join(w, 'start'), 'utf8'), `${who.uid}:${who.gid}:${who.gid}:${who.home}:nobody\n`, 'start: the probe ran as nobody, with its HOME and USER');

  const startRaw = await box.cli(['start', '--pid-file', join(box.dir, 'raw.pid'), '--user', String(uid), '--group', String(uid), '--ready-cmd', probe(`${w}/raw`), '--start-timeout', '20', '--', 'sleep', '1000'], { env });
  t.equal(startRaw.exitCode, 0);
  t.equal(readFileSync(join(w, 'raw'), 'utf8'), `${uid}:${uid}:${uid}:unset:unset\n`, 'start: a raw uid and its --group, no HOME or USER of root');

  // run: the command ends once the probe has answered.
  const run = await box.cli(['run', '--user', 'nobody', '--ready-cmd', probe(`${w}/run`), '--', 'sh', '-c', `until [ -e ${w}/run ]; do sleep 0.02; done`], { env, timeout: 20_000 });
  t.equal(run.exitCode, 0, 'run: the probe answered');
  t.equal(readFileSync(join(w, 'run'), 'utf8'), `${who.uid}:${who.gid}:${who.gid}:${who.home}:nobody\n`, 'run: the probe ran as nobody');
});

t.test('the library: detached and in front, the worker and its --ready-cmd run as uid, with its gid and environment', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const { box, w, env } = userBox(t);
  const who = nobody();
  const install = installForOthers(t);
  const index = join(dirname(dirname(install.bin)), 'index.js');
  const app = join(box.dir, 'app.mjs');
  writeFileSync(app, `
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Daemon } from ${JSON.stringify(index)};
const env = process.env;
const daemon = new Daemon({
  name: 'app', pidFile: env.APP_PID_FILE, uid: 'nobody', detach: env.APP_DETACH === 'true', startTimeout: 20,
  readyCmd: ${JSON.stringify(`id -u > ${w}/lib-probe.tmp && echo "$HOME" >> ${w}/lib-probe.tmp && mv ${w}/lib-probe.tmp ${w}/lib-probe`)},
  worker: async () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const field = (name) => new RegExp('^' + name + ':[ \\\\t]*(.*)$', 'm').exec(status)[1].trim().split(/\\s+/).join(' ');
    const seen = { uid: field('Uid'), gid: field('Gid'), HOME: env.HOME, USER: env.USER, LOGNAME: env.LOGNAME, SHELL: env.SHELL };
    writeFileSync(env.APP_OUT + '.tmp', JSON.stringify(seen));
    renameSync(env.APP_OUT + '.tmp', env.APP_OUT);
    await new Promise(() => {});
  },
});
await daemon.cli();
`);
  chmodSync(app, 0o644);
  const expected = { uid: four(who.uid), gid: four(who.gid), HOME: who.home, USER: 'nobody', LOGNAME: 'nobody', SHELL: who.shell };

  const detached = await execa(install.node, [app, 'start'], {
    env: { ...env, APP_DETACH: 'true', APP_PID_FILE: box.pidFile, APP_OUT: join(w, 'detached.json') },
    extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000,
  });
  t.equal(detached.exitCode, 0, `detached start: ${String(detached.stderr)}`);
  await waitFor('the detached worker', () => existsSync(join(w, 'detached.json')));
  t.same(JSON.parse(readFileSync(join(w, 'detached.json'), 'utf8')), expected, 'detached: nobody, its gid, its environment');
  t.equal(readFileSync(join(w, 'lib-probe'), 'utf8'), `${who.uid}\n${who.home}\n`, 'the library\'s readyCmd ran as nobody, with its HOME');

  const front = execa(install.node, [app, 'start'], {
    env: { ...env, APP_DETACH: 'false', APP_PID_FILE: join(box.dir, 'front.pid'), APP_OUT: join(w, 'front.json') },
    extendEnv: false, reject: false, stdin: 'ignore',
  });
  await waitFor('the worker in front', () => existsSync(join(w, 'front.json')) || front.exitCode !== null);
  t.same(JSON.parse(readFileSync(join(w, 'front.json'), 'utf8')), expected, 'in front: nobody, its gid, its environment');
  front.kill('SIGTERM');
  await front;
});

t.test('the library as root with uid and the default pid file: start, status, reload and stop, detached or auto', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const who = nobody();
  const install = installForOthers(t);
  const index = join(dirname(dirname(install.bin)), 'index.js');
  for (const detach of ['true', 'auto']) {
    const { box, w, env: boxEnv } = userBox(t);
    // Without tap's hooks, which nobody could not write for (the daemon's stderr is checked below).
    const env = Object.fromEntries(Object.entries(boxEnv).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('_TAPJS_')));
    // A unique name, so the default pid file (/run/daemonocle/NAME.pid) is this run's alone.
    const name = `uid-default-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
    const pidFile = `/run/daemonocle/${name}.pid`;
    const nobodysDefault = `/tmp/daemonocle-${who.uid}/${name}.pid`;
    t.teardown(() => {
      for (const leftover of [pidFile, `${pidFile}.lock`, nobodysDefault, `${nobodysDefault}.lock`]) rmSync(leftover, { force: true });
    });
    const app = join(box.dir, 'app.mjs');
    writeFileSync(app, `
import { appendFileSync } from 'node:fs';
import { Daemon } from ${JSON.stringify(index)};
const daemon = new Daemon({
  name: ${JSON.stringify(name)}, uid: 'nobody', gid: 'nogroup', detach: ${detach === 'true' ? 'true' : "'auto'"},
  stdoutFile: ${JSON.stringify(join(w, 'out.log'))}, stderrFile: ${JSON.stringify(join(w, 'err.log'))}, grace: 0.5,
  shutdownCallback: (message, code) => appendFileSync(${JSON.stringify(join(w, 'callback.log'))}, message + '|' + code + '\\n'),
  worker: async () => {
    daemon.ready();
    process.stdout.write('worker ' + process.pid + '\\n');
    await new Promise(() => {});
  },
});
process.exitCode = await daemon.doAction(process.argv[2] ?? 'status');
`);
    chmodSync(app, 0o644);
    const run = (action: string) =>
      execa(install.node, [app, action], { env, extendEnv: false, reject: false, stdin: 'ignore', stripFinalNewline: false, timeout: 30_000 });
    const read = (file: string) => (existsSync(join(w, file)) ? readFileSync(join(w, file), 'utf8') : '');
    const d = `detach ${detach}`;

    const start = await run('start');
    t.equal(start.stdout, `Starting ${name} ... OK\n`, `${d}: start: ${String(start.stderr)}`);
    t.equal(start.exitCode, 0, `${d}: start exit 0`);
    t.ok(existsSync(pidFile), `${d}: the default pid file is root's /run/daemonocle/NAME.pid, as for start --user`);
    const pid = readPid(pidFile);
    await waitFor(`${d}: the worker`, () => read('out.log') !== '');
    t.equal(read('out.log'), `worker ${pid}\n`, `${d}: the worker runs in the process the pid file names (the re-run is the daemon)`);
    t.notOk(existsSync(nobodysDefault), `${d}: no second pid file in nobody's default directory`);
    t.equal(idsOf(pid).uid, four(who.uid), `${d}: the daemon runs as nobody`);
    t.equal(idsOf(pid).gid, four(65534), `${d}: with nogroup`);

    const status = await run('status');
    t.match(status.stdout, new RegExp(`^${name} -- pid: ${pid}, status: \\w+, uptime: \\d+s`), `${d}: status: running`);
    t.equal(status.exitCode, 0);

    const reload = await run('reload');
    t.equal(reload.stdout, `Reloading ${name} ... OK (SIGHUP sent to PID ${pid})\n`, `${d}: reload: ${String(reload.stderr)}`);
    await waitFor(`${d}: the reloaded worker`, () => read('out.log').split('\n').filter((l) => l.startsWith('worker ')).length === 2);
    const reloaded = readPid(pidFile);
    t.equal(read('out.log'), `worker ${pid}\nReloading ${name} ... OK\nworker ${reloaded}\n`, `${d}: reloaded, in the process the pid file names`);
    t.equal(read('callback.log'), 'Shutting down for reload|0\n', `${d}: the old run ended for the reload`);
    t.equal(idsOf(reloaded).uid, four(who.uid), `${d}: still nobody`);
    t.equal((await run('status')).exitCode, 0, `${d}: status: running after the reload`);
    t.equal(read('err.log'), '', `${d}: nothing went wrong in the daemon`);

    const stop = await run('stop');
    t.equal(stop.stdout, `Stopping ${name} ... OK\n`, `${d}: stop: ${String(stop.stderr)}`);
    t.equal(stop.exitCode, 0);
    t.notOk(existsSync(`/proc/${reloaded}/status`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${reloaded}/status`, 'utf8')), `${d}: the daemon is gone`);
    t.notOk(existsSync(pidFile), `${d}: no pid file left`);
    t.equal(read('callback.log'), 'Shutting down for reload|0\nTerminated by SIGTERM (15)|-15\n', `${d}: callbacks`);
    t.equal((await run('status')).exitCode, 3, `${d}: status: not running`);
  }
});
