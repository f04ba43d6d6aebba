// Safe as root: the daemon's own --user (and a second ordinary user) try to steer what root
// writes, opens, locks or signals, with raw uids through setpriv, planted symlinks and FIFOs, and
// a racing swap loop. Each case failed on the code before the path walk (src/base/safe-path.ts).
import t from 'tap';
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { alive, BIN, childrenOf, readPid, RUNTIME, requireRoot, sandbox, stat, waitFor, type Sandbox } from './helpers.js';
import { asUser, canSwitchUsers, freshUids } from './users-harness.js';

const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);

/** A directory of uid's in the sandbox (the sandbox made traversable for it), and a root-only one beside it. */
function places(box: Sandbox, uid: number): { home: string; rootOnly: string } {
  chmodSync(box.dir, 0o711);
  const home = join(box.dir, 'home');
  mkdirSync(home, { mode: 0o755 });
  chownSync(home, uid, uid);
  const rootOnly = join(box.dir, 'root-only');
  mkdirSync(rootOnly, { mode: 0o700 });
  return { home, rootOnly };
}

/** A process of uid's, running until the test ends. */
function asUserInBackground(t: Test, uid: number, argv: string[], cwd = '/'): ChildProcess {
  // Not marked with the sandbox's token: box.processes() lists the daemons alone.
  const proc = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv], { env: { PATH: process.env.PATH }, stdio: 'ignore', cwd });
  t.teardown(() => {
    proc.kill('SIGKILL');
  });
  return proc;
}

/** A root 0600 file in the root-only directory (made passable, 0711, so a link to it resolves). */
function rootSecret(rootOnly: string, text: string): string {
  chmodSync(rootOnly, 0o711);
  const secret = join(rootOnly, 'secret');
  writeFileSync(secret, text, { mode: 0o600 });
  return secret;
}

function rootOnlyUntouched(t: Test, rootOnly: string, round: string): void {
  const st = statSync(rootOnly);
  t.same([st.uid, st.gid, mode(rootOnly)], [0, 0, '700'], `${round}: the root-only directory keeps owner and mode`);
  t.same(readdirSync(rootOnly), [], `${round}: nothing written into it`);
}

t.test('the --user symlinks its pid directory to a root-only one: refused, nothing written there', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home, rootOnly } = places(box, user);
  const planted = await asUser(user, ['ln', '-s', rootOnly, join(home, 'run')], { PATH: process.env.PATH });
  t.equal(planted.exitCode, 0, planted.stderr);
  const pidFile = join(home, 'run', 'app.pid');
  const start = await box.cli(['start', '--pid-file', pidFile, '--name', 'app', '--user', String(user), '--group', String(user), '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stderr, `ERROR: Cannot use pid file ${pidFile}: its directory ${join(home, 'run')} is a symbolic link in a directory of the daemon's user; refusing to trust it\n`);
  t.equal(start.exitCode, 1);
  t.same(box.processes(), [], 'nothing started');
  rootOnlyUntouched(t, rootOnly, 'static');
});

t.test('the --user swaps its pid directory for a symlink in a loop: root never changes or writes the root-only one', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home, rootOnly } = places(box, user);
  asUserInBackground(t, user, ['sh', '-c', `while :; do rm -rf run; ln -s ${rootOnly} run 2>/dev/null; done`], home);
  const pidFile = join(home, 'run', 'app.pid');
  const args = ['--pid-file', pidFile, '--name', 'app', '--user', String(user), '--group', String(user)];
  const outcomes = new Set<string>();
  for (let round = 1; round <= 12; round++) {
    const start = await box.cli(['start', ...args, '--grace', '0.1', '--', 'sleep', '1000']);
    outcomes.add(start.exitCode === 0 ? 'OK' : start.stderr.replace(/ \/.*/s, '').trim());
    t.ok(start.exitCode === 0 || /^ERROR: /.test(start.stderr), `round ${round}: OK or an ERROR (${start.stderr.trim()})`);
    rootOnlyUntouched(t, rootOnly, `round ${round}`);
    for (const pid of box.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
  t.comment(`outcomes: ${[...outcomes].join(' | ')}`);
});

t.test('symlinks planted for the temporary pid file names: nothing written through them, the pid file a real file', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home, rootOnly } = places(box, user);
  const fifo = join(rootOnly, 'fifo');
  await execa('mkfifo', ['-m', '600', fifo]);
  chmodSync(rootOnly, 0o711);
  // A reader, so that a write into the FIFO would go through, and be seen.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(reader));
  const run = join(home, 'run');
  const made = await asUser(user, ['mkdir', run], { PATH: process.env.PATH });
  t.equal(made.exitCode, 0);
  // The names the old session leader used, app.pid.PID.tmp, for the next pids to come: planted
  // by one process (python3), so the planting itself uses up no pids.
  const plant = `import os\nn = int(open('/proc/sys/kernel/ns_last_pid').read())\nfor pid in range(n + 1, n + 3000):\n    os.symlink('${fifo}', f'app.pid.{pid}.tmp')`;
  const planted = await asUser(user, ['python3', '-c', plant], { PATH: process.env.PATH }, run);
  t.equal(planted.exitCode, 0, planted.stderr);
  const pidFile = join(run, 'app.pid');
  const start = await box.cli(['start', '--pid-file', pidFile, '--name', 'app', '--user', String(user), '--group', String(user), '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.stdout, 'Starting app ... OK\n', start.stderr);
  const buf = Buffer.alloc(64);
  let n = 0;
  try {
    n = readSync(reader, buf, 0, 64, null);
  } catch {
    // EAGAIN: nothing there.
  }
  t.equal(n, 0, 'nothing was written into the root-only FIFO');
  const st = lstatSync(pidFile);
  t.ok(st.isFile(), 'the pid file is a regular file, not a planted symlink');
  t.equal(st.uid, 0, 'written by root');
  t.ok(alive(readPid(pidFile)), 'and names the daemon');
  const stop = await box.cli(['stop', '--pid-file', pidFile, '--name', 'app', '--user', String(user)]);
  t.equal(stop.stdout, 'Stopping app ... OK\n');
});

t.test('the --user rewrites the pid file to name a root process: stop and status refuse it', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home } = places(box, user);
  const pidFile = join(home, 'run', 'app.pid');
  const args = ['--pid-file', pidFile, '--name', 'app', '--user', String(user), '--group', String(user)];
  const start = await box.cli(['start', ...args, '--grace', '0.2', '--', 'sleep', '1000']);
  t.equal(start.exitCode, 0, start.stderr);
  const daemon = readPid(pidFile);
  const victim = spawn('sleep', ['1000'], { env: box.env, stdio: 'ignore' });
  t.teardown(() => {
    victim.kill('SIGKILL');
  });
  await waitFor('the victim', () => stat(victim.pid!)?.state === 'S');
  const startTime = readFileSync(`/proc/${victim.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
  const forged = await asUser(user, ['sh', '-c', `printf '%s\\n%s\\n' ${victim.pid} ${startTime} > app.pid.new && mv -f app.pid.new app.pid`], { PATH: process.env.PATH }, join(home, 'run'));
  t.equal(forged.exitCode, 0, forged.stderr);
  const refusal = `ERROR: Cannot use pid file ${pidFile}: uid ${user} (the daemon's user) can write it, and it names PID ${victim.pid}, which runs as uid 0; refusing to trust it\n`;
  const status = await box.cli(['status', ...args]);
  t.equal(status.stderr, refusal);
  t.equal(status.exitCode, 4);
  const stop = await box.cli(['stop', ...args]);
  t.equal(stop.stderr, refusal);
  t.equal(stop.exitCode, 1);
  t.ok(alive(victim.pid!), 'the root process was not signalled');
  t.ok(alive(daemon), 'nor the daemon');
  // Told the truth again, the pid file works as before.
  writeFileSync(pidFile, `${daemon}\n${readFileSync(`/proc/${daemon}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]}\n`);
  const stopped = await box.cli(['stop', ...args]);
  t.equal(stopped.stdout, 'Stopping app ... OK\n', stopped.stderr);
});

t.test('a pid file naming PID 1 on a host, or in a pid namespace whose PID 1 is not this tool: broken, nothing signalled', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const init = readFileSync('/proc/1/stat', 'utf8').split(') ')[1]!.split(' ')[19];
  writeFileSync(box.pidFile, `1\n${init}\n`);
  const status = await box.cli(['status', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(status.stdout, 'app -- not running\n');
  t.equal(status.stderr, `WARNING: Broken pid file ${box.pidFile}\n`);
  t.equal(status.exitCode, 1);
  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'app']);
  t.equal(stop.stderr, `WARNING: Broken pid file ${box.pidFile}\nWARNING: app is not running\n`);
  t.equal(stop.exitCode, 0);

  // PID 1 of a fresh pid namespace is a shell here, which names the CLI on its command line.
  const inside = `printf '1\\n%s\\n' "$(cut -d' ' -f22 /proc/1/stat)" > ${box.pidFile}; "$0" "$1" status --pid-file ${box.pidFile} --name app; echo "exit $?"`;
  const ns = await execa('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', inside, RUNTIME, BIN], { env: box.env, reject: false, stripFinalNewline: false });
  t.equal(ns.stdout, 'app -- not running\nexit 1\n', ns.stderr);
  t.equal(ns.stderr, `WARNING: Broken pid file ${box.pidFile}\n`);
});

t.test('the --user replaces its log file with a symlink to a root file: refused, the root file unchanged', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home, rootOnly } = places(box, user);
  const secret = rootSecret(rootOnly, 'root only\n');
  const log = join(home, 'log', 'out.log');
  const made = await asUser(user, ['sh', '-c', `mkdir log && ln -s ${secret} log/out.log`], { PATH: process.env.PATH }, home);
  t.equal(made.exitCode, 0, made.stderr);
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--user', String(user), '--group', String(user), '--stdout', log, '--', 'sh', '-c', 'echo LEAKED; sleep 1000']);
  t.equal(start.stdout, 'Starting app ... FAILED\n');
  t.match(start.stderr, `ERROR: Cannot open --stdout file ${log}: `);
  t.equal(start.exitCode, 1);
  t.equal(readFileSync(secret, 'utf8'), 'root only\n', 'the root file is unchanged');
  t.same(box.processes(), []);
});

t.test('--stdout in a missing directory: made 0755 for the --user, like a pid directory', async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const log = join(box.dir, 'logs', 'app', 'out.log');
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--user', 'nobody', '--group', 'nogroup', '--stdout', log, '--grace', '0.2', '--', 'sh', '-c', 'echo hello; exec sleep 1000']);
  t.equal(start.stdout, 'Starting app ... OK\n', start.stderr);
  const st = statSync(join(box.dir, 'logs', 'app'));
  t.same([st.uid, st.gid, mode(join(box.dir, 'logs', 'app'))], [65534, 65534, '755']);
  await waitFor('the output', () => readFileSync(log, 'utf8') === 'hello\n');
});

t.test('a lock file another user planted and holds: refused at once; a lock held too long: an ERROR naming the holder', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [other] = freshUids();
  chmodSync(box.dir, 0o711);
  const sticky = join(box.dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const pidFile = join(sticky, 'app.pid');
  const holder = asUserInBackground(t, other, ['flock', `${pidFile}.lock`, 'sleep', '1000']);
  await waitFor('the planted lock', () => readFileSync('/proc/locks', 'utf8').includes(` ${holder.pid} `) || readdirSync(sticky).length > 0);
  const began = Date.now();
  const start = await box.cli(['start', '--pid-file', pidFile, '--name', 'app', '--', 'sleep', '1000']);
  t.equal(start.stderr, `ERROR: Cannot use lock file ${pidFile}.lock: it is owned by uid ${other}, not root; refusing to trust it\n`);
  t.equal(start.exitCode, 1);
  const stop = await box.cli(['stop', '--pid-file', pidFile, '--name', 'app']);
  t.equal(stop.exitCode, 1);
  t.ok(Date.now() - began < 20_000, 'neither waited');

  // Root's own lock, held by a process that never lets go: the wait ends with the holder named.
  const mine = join(box.dir, 'mine.pid');
  const flock = spawn('flock', [`${mine}.lock`, 'sleep', '1000'], { env: box.env, stdio: 'ignore' });
  t.teardown(() => {
    flock.kill('SIGKILL');
  });
  await waitFor('the lock', () => readFileSync('/proc/locks', 'utf8').split('\n').some((l) => l.includes(` ${flock.pid} `)));
  const waited = await box.cli(['start', '--pid-file', mine, '--name', 'app', '--start-timeout', '1', '--', 'sleep', '1000']);
  t.equal(waited.stderr, `ERROR: Timed out after 1 s waiting for the lock on ${mine}.lock, held by PID ${flock.pid} (flock)\n`);
  t.equal(waited.exitCode, 1);
  t.notOk(existsSync(mine), 'nothing started');
});

t.test('a FIFO nobody reads planted as the log file: an ERROR at once; a FIFO with a reader still takes the output', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home } = places(box, user);
  const log = join(home, 'out.log');
  const made = await asUser(user, ['mkfifo', log], { PATH: process.env.PATH });
  t.equal(made.exitCode, 0, made.stderr);
  const args = ['--pid-file', box.pidFile, '--name', 'app', '--user', String(user), '--group', String(user), '--stdout', log, '--grace', '0.2'];
  const start = await box.cli(['start', ...args, '--', 'sh', '-c', 'echo hello; exec sleep 1000']);
  t.equal(start.stdout, 'Starting app ... FAILED\n');
  t.equal(start.stderr, `ERROR: Cannot open --stdout file ${log}: no such device or address\n`);
  t.same(box.processes(), [], 'nothing started');

  const reader = openSync(log, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(reader));
  const read = await box.cli(['start', ...args, '--', 'sh', '-c', 'echo hello; exec sleep 1000']);
  t.equal(read.stdout, 'Starting app ... OK\n', read.stderr);
  const buf = Buffer.alloc(16);
  await waitFor('the output', () => {
    try {
      return readSync(reader, buf, 0, 16, null) > 0;
    } catch {
      return false;
    }
  });
  t.equal(buf.toString('utf8').replace(/\0+$/, ''), 'hello\n');
});

t.test("the --user swaps its --stderr file for a symlink to a root file, or a FIFO, then fails: root shows neither", async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home, rootOnly } = places(box, user);
  const secret = rootSecret(rootOnly, 'root-secret-line\n');
  const err = join(home, 'log', 'err.log');
  const args = ['--pid-file', join(home, 'run', 'app.pid'), '--name', 'app', '--user', String(user), '--group', String(user), '--stderr', err];
  for (const swap of [`ln -s ${secret} ${err}`, `mkfifo ${err}`]) {
    rmSync(err, { force: true });
    const began = Date.now();
    const start = await box.cli(['start', ...args, '--', 'sh', '-c', `echo before >&2; rm -f ${err}; ${swap}; exit 3`]);
    t.equal(start.stdout, 'Starting app ... FAILED\n', swap);
    t.equal(start.stderr, 'ERROR: app exited during startup with exit code 3\nbefore\n', `${swap}: the lines the daemon wrote, read from the file it wrote them to`);
    t.ok(Date.now() - began < 20_000, `${swap}: no hang`);
  }
});

t.test('a symlink of root\'s leads into the --user\'s directory, where the user planted another: its target is walked, and refused', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home, rootOnly } = places(box, user);
  const secret = rootSecret(rootOnly, 'root only\n');
  const varlog = join(box.dir, 'varlog');
  mkdirSync(varlog);
  const made = await asUser(user, ['sh', '-c', `mkdir logs && ln -s ${secret} logs/out.log`], { PATH: process.env.PATH }, home);
  t.equal(made.exitCode, 0, made.stderr);
  symlinkSync(join(home, 'logs', 'out.log'), join(varlog, 'out.log')); // the admin's link
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--user', String(user), '--group', String(user), '--stdout', join(varlog, 'out.log'), '--', 'sh', '-c', 'echo APPENDED; sleep 1000']);
  t.equal(start.stdout, 'Starting app ... FAILED\n');
  t.match(start.stderr, `ERROR: Cannot open --stdout file ${join(varlog, 'out.log')}: `);
  t.equal(readFileSync(secret, 'utf8'), 'root only\n', 'the root file is unchanged');
  t.same(box.processes(), []);
  // A link of root's to a plain file of root's is followed as before.
  const real = join(box.dir, 'real.log');
  symlinkSync(real, join(varlog, 'ok.log'));
  const ok = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--stdout', join(varlog, 'ok.log'), '--grace', '0.2', '--', 'sh', '-c', 'echo hello; exec sleep 1000']);
  t.equal(ok.stdout, 'Starting app ... OK\n', ok.stderr);
  await waitFor('the output', () => existsSync(real) && readFileSync(real, 'utf8') === 'hello\n');
});

t.test('inside a pid namespace whose PID 1 is this tool\'s run, a pid file the --user wrote naming PID 1 is refused', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const { home } = places(box, user);
  const ns = spawn('unshare', ['--pid', '--fork', '--mount-proc', RUNTIME, BIN, 'run', '--', 'sleep', '1000'], { env: box.env, stdio: 'ignore' });
  t.teardown(() => {
    ns.kill('SIGKILL');
  });
  let wrapper = 0;
  await waitFor('the wrapper as PID 1', () => {
    wrapper = childrenOf(ns.pid!)[0] ?? 0;
    return wrapper > 0 && childrenOf(wrapper).length > 0;
  });
  const inside = (argv: string[]) => execa('nsenter', ['-t', String(wrapper), '-p', '-m', ...argv], { env: box.env, reject: false });
  const startTime = (await inside(['sh', '-c', "cut -d' ' -f22 /proc/1/stat"])).stdout.trim();
  const forged = await asUser(user, ['sh', '-c', `mkdir run && printf '1\\n%s\\n' ${startTime} > run/app.pid`], { PATH: process.env.PATH }, home);
  t.equal(forged.exitCode, 0, forged.stderr);
  const pidFile = join(home, 'run', 'app.pid');
  const args = ['--pid-file', pidFile, '--name', 'app', '--user', String(user), '--group', String(user)];
  const status = await inside([RUNTIME, BIN, 'status', ...args]);
  t.equal(status.stderr, `ERROR: Cannot use pid file ${pidFile}: uid ${user} (the daemon's user) can write it, and it names PID 1, which runs as uid 0; refusing to trust it`);
  t.equal(status.exitCode, 4);
  const stop = await inside([RUNTIME, BIN, 'stop', ...args]);
  t.equal(stop.exitCode, 1);
  t.ok(alive(wrapper), 'PID 1 was not signalled');
  // The same pid file written by root in root's directory: the container case, accepted.
  writeFileSync(box.pidFile, `1\n${startTime}\n`);
  const own = await inside([RUNTIME, BIN, 'status', '--pid-file', box.pidFile, '--name', 'app']);
  t.match(own.stdout, /^app -- pid: 1, status: /, own.stderr);
});
