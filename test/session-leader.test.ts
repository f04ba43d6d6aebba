// sh/session-leader.sh on its own, under both shells a machine may give it (dash as /bin/sh,
// bash --posix when present): the pid file it writes is byte for byte what src/pidfile/format.ts defines
// (and pidfile.ts writes and reads), on its own and in a real `daemonocle start`, the command gets only the fds it should, and a pid file it cannot write stops the
// command from running. shellcheck keeps the script clean.
import t from 'tap';
import type { Test } from 'tap';
import { execa } from 'execa';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { alive, ROOT, sandbox, unavailable, waitFor } from './helpers.js';
import { PidFile } from '../dist/pidfile/pidfile.js';
import { formatPidFile, parsePidFile } from '../dist/pidfile/format.js';

const SCRIPT = join(ROOT, 'sh', 'session-leader.sh');
const SHELLS: [string, string[]][] = [
  ['dash', ['/usr/bin/dash']],
  ['bash', ['/usr/bin/bash', '--posix']],
];

/** The pid file's directory and an exclusive temporary file in it, open as the engine hands them over. */
function dirAndTemp(t: Test, pidFile: string): { dir: number; tmp: number; tmpName: string } {
  const tmpName = `.${basename(pidFile)}.test.tmp`;
  const dir = openSync(dirname(pidFile), constants.O_RDONLY | constants.O_DIRECTORY);
  const tmp = openSync(join(dirname(pidFile), tmpName), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  t.teardown(() => {
    closeSync(dir);
    closeSync(tmp);
  });
  return { dir, tmp, tmpName };
}

/** Field 22 of /proc/PID/stat, read here independently of both the script and pidfile.ts. */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

t.test('shellcheck finds nothing in sh/session-leader.sh', async (t) => {
  if (!existsSync('/usr/bin/shellcheck')) return void unavailable(t, 'shellcheck (apt-get install shellcheck)');
  const r = await execa('shellcheck', ['--shell=sh', '--severity=style', SCRIPT], { reject: false });
  t.equal(r.stdout, '', 'no findings');
  t.equal(r.exitCode, 0);
});

for (const [label, shell] of SHELLS) {
  t.test(`under ${label}: pid file, fds, umask, then the command`, async (t) => {
    if (!existsSync(shell[0]!)) return void unavailable(t, label);
    const box = sandbox(t);
    const leaked = openSync(join(box.dir, 'leaked'), 'w');
    const kept = openSync(join(box.dir, 'kept'), 'w');
    t.teardown(() => {
      closeSync(leaked);
      closeSync(kept);
    });
    // The child's fds: 5 and 12 leaked (open without close-on-exec), 6 kept, 9 the pid pipe, 7 the
    // directory and 8 the temporary file. No pipe the command would inherit: execa would wait for
    // the daemon to close it.
    const { dir, tmp, tmpName } = dirAndTemp(t, box.pidFile);
    const stdio: unknown[] = Array.from({ length: 13 }, () => 'ignore');
    stdio[5] = leaked;
    stdio[12] = leaked;
    stdio[6] = kept;
    stdio[7] = dir;
    stdio[8] = tmp;
    stdio[9] = 'pipe';
    // The umask the leader is started with, as spawnProcess() sets it for every spawn.
    const callers = process.umask(0o027);
    const leader = execa(shell[0]!, [...shell.slice(1), SCRIPT, '7', '8', tmpName, basename(box.pidFile), '9', '-', '6', 'sleep', '1000'], {
      env: box.env,
      stdio: stdio as never,
      reject: false,
    });
    process.umask(callers);
    let reported = '';
    leader.stdio[9]!.on('data', (chunk: Buffer) => (reported += chunk.toString()));
    await leader;
    await waitFor('the pid on the pipe', () => reported.endsWith('\n'));
    const pid = Number(reported.trim());
    t.ok(alive(pid), 'the command runs');

    const written = readFileSync(box.pidFile, 'utf8');
    t.equal(written, `${pid}\n${startTime(pid)}\n`, 'pid file: the pid, then the start time');
    const fromTs = join(box.dir, 'ts.pid');
    new PidFile(fromTs).write(pid, Number(startTime(pid)));
    t.equal(readFileSync(fromTs, 'utf8'), written, 'pidfile.ts writes the same bytes');
    t.equal(formatPidFile(pid, Number(startTime(pid))), written, 'format.ts defines the same bytes');
    const state = new PidFile(box.pidFile).inspect();
    t.equal(state.kind, 'running', 'pidfile.ts reads it as running');
    t.equal((state as { pid: number }).pid, pid);

    // The pid arrives just before the exec: on a loaded machine /proc may still show the shell.
    const comm = () => readFileSync(`/proc/${pid}/comm`, 'utf8');
    await waitFor('the exec', () => comm() !== `${label}\n`, 2000).catch(() => {});
    t.equal(comm(), 'sleep\n', 'the command itself, exec\'d in place');
    const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
    // dash cannot name an fd above 9 in a redirection: there only 3-9 are closed (the engine uses
    // bash when present, which closes them all).
    const seen = label === 'dash' ? fds.filter((fd) => fd <= 9) : fds;
    t.same(seen, [0, 1, 2, 6], `only 0-2 and the kept fd${label === 'dash' ? ' up to 9' : ''}: the leaked ones and the pipe are closed`);
    t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Umask:\s+0027$/m, 'umask 027');
    t.same(readdirSync(box.dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  });

  t.test(`under ${label}: a pid file it cannot write: exit 125, the command never runs`, async (t) => {
    if (!existsSync(shell[0]!)) return void unavailable(t, label);
    const box = sandbox(t);
    // A directory, not empty, where the pid file should go: the rename cannot replace it.
    const pidFile = join(box.dir, 'app.pid');
    mkdirSync(join(pidFile, 'inside'), { recursive: true });
    const { dir, tmp, tmpName } = dirAndTemp(t, pidFile);
    const marker = join(box.dir, 'ran');
    const stdio = ['ignore', 'ignore', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', dir, tmp, 'pipe'];
    const leader = execa(shell[0]!, [...shell.slice(1), SCRIPT, '7', '8', tmpName, 'app.pid', '9', '-', '', 'sh', '-c', `touch ${marker}`], {
      env: box.env,
      stdio: stdio as never,
      reject: false,
    });
    let stderr = '';
    leader.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let piped = '';
    leader.stdio[9]!.on('data', (chunk: Buffer) => (piped += chunk.toString()));
    await leader;
    await waitFor('the subshell to report', () => stderr.includes('\n'));
    t.equal(stderr, 'daemonocle: cannot write pid file app.pid\n');
    t.equal(piped, '', 'no pid reported');
    t.notOk(existsSync(join(box.dir, tmpName)), 'the temporary file removed');
    t.notOk(existsSync(marker), 'the command did not run');
  });

  t.test(`under ${label}: arguments that are not fd numbers are refused`, async (t) => {
    if (!existsSync(shell[0]!)) return void unavailable(t, label);
    const box = sandbox(t);
    mkdirSync(join(box.dir, 'x'));
    for (const args of [['7', '8', 't', 'app.pid', '9;rm', '-'], ['7', '8', '../t', 'app.pid', '9', '-'], ['7', '8', 't', '/etc/x', '9', '-']]) {
      const r = await execa(shell[0]!, [...shell.slice(1), SCRIPT, ...args, '', 'true'], { reject: false, env: box.env });
      t.equal(r.exitCode, 125, args.join(' '));
      t.equal(r.stderr, 'daemonocle: bad session leader arguments');
    }
    t.notOk(existsSync(box.pidFile), 'no pid file');
  });
}

t.test('a real start: the pid file the session leader wrote is the format format.ts parses, true to /proc', async (t) => {
  const box = sandbox(t);
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--', 'sleep', '1000']);
  t.equal(r.exitCode, 0, r.stderr);
  const written = readFileSync(box.pidFile, 'utf8');
  const parsed = parsePidFile(written);
  if (parsed === undefined) return void t.fail(`not a pid file: ${JSON.stringify(written)}`);
  t.ok(alive(parsed.pid), 'it names a live process');
  t.equal(readFileSync(`/proc/${parsed.pid}/comm`, 'utf8'), 'sleep\n', 'the daemon itself');
  t.equal(parsed.startTime, Number(startTime(parsed.pid)), 'its start time, as /proc has it');
  t.equal(written, formatPidFile(parsed.pid, parsed.startTime!), 'byte for byte the format, nothing more');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0, 'stopped');
});
