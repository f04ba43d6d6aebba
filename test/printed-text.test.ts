// SPEC "Safe as root": printed text is safe (names, paths and command lines a person reads have
// their control characters escaped, `--json` stays exact), a signal the caller may not send is a
// clear ERROR, and socket-activation fds that are not there are refused before anything runs.
import t from 'tap';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, BIN, readPid, requireRoot, RUNTIME, sandbox, type Sandbox } from './helpers.js';
import { asUser, canSwitchUsers, freshUids, installForOthers } from './users-harness.js';

const ESC = '\x1b';

t.test('list: a pid file named with ESC and a newline shows them escaped, one row, and --json has the exact name', async (t) => {
  const box = sandbox(t);
  const dir = join(box.dir, 'pids');
  mkdirSync(dir, { mode: 0o755 });
  const evil = `a${ESC}[31mred\nforged  4242  running  1s  0.0  0.0`;
  writeFileSync(join(dir, `${evil}.pid`), 'garbage\n');
  writeFileSync(join(dir, 'web.pid'), '999999\n');

  const r = await box.cli(['list', '--pid-dir', dir]);
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stderr, '');
  t.notOk(r.stdout.includes(ESC), 'no raw ESC reaches the terminal');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, 3, 'the header and two rows: no forged row');
  t.match(lines[1], /^a\\x1b\[31mred\\nforged  4242  running  1s  0\.0  0\.0\s+-\s+broken pid file\s+-\s+-\s+-$/, 'the name escaped in its own row');
  t.match(lines[2], /^web\s+-\s+not running\s+-\s+-\s+-$/);
  t.equal(lines[0]!.indexOf('PID'), lines[2]!.indexOf('-'), 'the columns still line up with the escaped name');

  const json = JSON.parse((await box.cli(['list', '--pid-dir', dir, '--json'])).stdout) as { name: string }[];
  t.same(json.map((o) => o.name), [evil, 'web'], '--json: the exact names');
});

t.test('status --tree: a command line with ESC, a newline and a C1 control is shown escaped; --json --tree is exact', async (t) => {
  const box = sandbox(t);
  const name = `e${ESC}]0;owned${ESC}\\x`;
  const arg = `x${ESC}[2Jcleared\nforged line\u009b1m\ttab`;
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', name, '--grace', '0.1', '--', 'sh', '-c', 'sleep 1000; :', arg]);
  t.equal(start.exitCode, 0, start.stderr);
  t.equal(start.stdout, 'Starting e\\x1b]0;owned\\x1b\\x ... OK\n', 'start names it escaped');
  const pid = readPid(box.pidFile);

  const r = await box.cli(['status', '--pid-file', box.pidFile, '--name', name, '--tree']);
  t.equal(r.exitCode, 0, r.stderr);
  t.notOk(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(r.stdout), 'no control character but the line ends');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, 3, 'the status line, the shell and its sleep: no forged line');
  t.match(lines[0], /^e\\x1b\]0;owned\\x1b\\x -- pid: \d+, status: /, 'the name escaped on the status line');
  t.equal(lines[1], lines[1]!.replace(/mem .*/, '') + 'mem sh -c sleep 1000; : x\\x1b[2Jcleared\\nforged line\\x9b1m\\ttab', 'the command line escaped');
  t.match(lines[2], /^└─\d+ \w+ .* mem sleep 1000$/);

  const json = JSON.parse((await box.cli(['status', '--pid-file', box.pidFile, '--name', name, '--json', '--tree'])).stdout);
  t.equal(json.name, name, '--json: the exact name');
  t.equal(json.tree[0].pid, pid);
  t.equal(json.tree[0].command, `sh -c sleep 1000; : ${arg}`, '--json --tree: the exact command line (read as UTF-8)');

  const stop = await box.cli(['stop', '--pid-file', box.pidFile, '--name', name]);
  t.equal(stop.stdout, 'Stopping e\\x1b]0;owned\\x1b\\x ... OK\n');
  const again = await box.cli(['stop', '--pid-file', box.pidFile, '--name', name]);
  t.equal(again.stderr, 'WARNING: e\\x1b]0;owned\\x1b\\x is not running\n', 'WARNING lines escape the name too');
});

t.test('an ERROR naming a path with control characters shows them escaped', async (t) => {
  const box = sandbox(t);
  const missing = join(box.dir, `no${ESC}[8m\nsuch`);
  const r = await box.cli(['list', '--pid-dir', missing]);
  t.equal(r.exitCode, 4);
  t.equal(r.stderr, `ERROR: Cannot read pid directory ${box.dir}/no\\x1b[8m\\nsuch: no such file or directory\n`);
});

/** An ordinary user's environment: none of tap's hooks, the sandbox's marker. */
const userEnv = (box: Sandbox): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: '/', DAEMONOCLE_TEST_TOKEN: box.token });

t.test("an ordinary user's stop or reload of root's daemon: a clear ERROR, exit 1, the daemon untouched", async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const { node, bin } = installForOthers(t);
  const [user] = freshUids();
  chmodSync(box.dir, 0o755);
  const start = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--grace', '0.1', '--', 'sleep', '1000']);
  t.equal(start.exitCode, 0, start.stderr);
  const pid = readPid(box.pidFile);
  const before = readFileSync(box.pidFile, 'utf8');

  for (const action of ['stop', 'reload']) {
    const r = await asUser(user, [node, bin, action, '--pid-file', box.pidFile], userEnv(box));
    t.equal(r.stdout, '', `${action}: nothing on stdout (no "Stopping app ... ")`);
    t.equal(r.stderr, `ERROR: Cannot ${action} app (PID ${pid}): operation not permitted (it runs as uid 0)\n`, `${action}: the ERROR names it`);
    t.equal(r.exitCode, 1, `${action}: exit 1`);
    t.ok(alive(pid), `${action}: the daemon lives`);
    t.equal(readFileSync(box.pidFile, 'utf8'), before, `${action}: its pid file is untouched`);
  }
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).stdout, 'Stopping app ... OK\n', 'root stops it');
});

t.test('run: LISTEN_FDS naming fds that are not open is an ERROR before anything runs; open ones are passed on', async (t) => {
  const box = sandbox(t);
  const marker = join(box.dir, 'ran');
  const activated = (prelude: string, count: string, command: string[]) =>
    execa('sh', ['-c', `${prelude} LISTEN_PID=$$ LISTEN_FDS=${count} exec "$@"`, 'sh', RUNTIME, BIN, 'run', '--', ...command], {
      env: box.env, extendEnv: false, reject: false, stdin: 'ignore',
    });

  const huge = await activated('', '1000000', ['touch', marker]);
  t.equal(huge.exitCode, 1);
  t.match(huge.stderr, /^ERROR: LISTEN_FDS=1000000 names fds 3-1000002, but fd \d+ was not handed to this process \(socket activation passes them open\)$/);
  t.notOk(existsSync(marker), 'nothing ran');

  const partly = await activated('exec 3</dev/null;', '2', ['touch', marker]);
  t.equal(partly.exitCode, 1);
  t.match(partly.stderr, /^ERROR: LISTEN_FDS=2 names fds 3-4, but fd 4 was not handed to this process/, 'fd 3 open, fd 4 not');
  t.notOk(existsSync(marker), 'nothing ran');

  const garbage = await activated('', '0x2', ['touch', marker]);
  t.equal(garbage.exitCode, 1);
  t.match(garbage.stderr, /^ERROR: LISTEN_FDS=0x2 is not a number of fds/);

  const good = await activated('exec 3</dev/null;', '1', ['sh', '-c', `test -e /proc/$$/fd/3 && test "$LISTEN_PID" = $$ && test "$LISTEN_FDS" = 1 && touch ${marker}`]);
  t.equal(good.exitCode, 0, good.stderr);
  t.ok(existsSync(marker), 'an open activation fd reaches the command, with LISTEN_PID naming it');
});
