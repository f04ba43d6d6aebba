// The default name (SPEC §1 --name): a command's basename, or for an interpreter the script it
// runs without its extension, so two Node apps are two daemons; and start's "already running"
// WARNING names the running command when it is not the one asked for.
import t from 'tap';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPid, sandbox } from './helpers.js';
import { defaultName } from '../dist/options/names.js';

t.test('the default name of a command, interpreter by interpreter', async (t) => {
  const cases: [string[], string][] = [
    // Not an interpreter: the basename, extension and all.
    [['sleep', '1000'], 'sleep'],
    [['/opt/app/kill-self.js'], 'kill-self.js'],
    [['nodemon', 'a.js'], 'nodemon'],
    // The script an interpreter runs, without its extension, past the interpreter's options.
    [['node', 'a.js'], 'a'],
    [['/usr/bin/node', '--max-old-space-size=100', '/srv/b.mjs'], 'b'],
    [['node', '-r', 'dotenv/config', 'srv/server.js', '--port', '80'], 'server'],
    [['node', '--', 'a.js'], 'a'],
    [['nodejs', 'a.js'], 'a'],
    [['bun', 'run', '--smol', 'server.ts'], 'server'],
    [['bun', 'server.ts'], 'server'],
    [['deno', 'run', '-A', '--config', 'deno.json', 'main.ts'], 'main'],
    [['python3', '-u', 'app.py'], 'app'],
    [['python3.11', '-W', 'ignore', 'app.py'], 'app'],
    [['python', '-X', 'dev', 'tool.py'], 'tool'],
    [['ruby', '-W0', '-I', 'lib', 'worker.rb'], 'worker'],
    [['perl', '-MPOSIX', '-w', 'job.pl'], 'job'],
    [['php', '-d', 'memory_limit=1G', 'artisan', 'queue:work'], 'artisan'],
    [['php', '-f', 'index.php'], 'index'],
    [['sh', 'run.sh'], 'run'],
    [['bash', '-e', 'run.sh'], 'run'],
    [['bash', '-euo', 'pipefail', 'run.sh'], 'run'],
    [['zsh', '+x', 'job.zsh'], 'job'],
    [['java', '-Xmx1g', '-jar', '/opt/app/service.jar'], 'service'],
    [['java', '-cp', 'lib/*', 'com.example.Main'], 'com.example.Main'],
    // A module: its name as given.
    [['python3', '-m', 'http.server', '8000'], 'http.server'],
    [['python3', '-um', 'uvicorn', 'app:app'], 'uvicorn'],
    [['node', '--run', 'dev'], 'dev'],
    [['java', '-m', 'org.app/org.app.Main'], 'org.app'],
    // Inline code, stdin, or a subcommand that runs no script: the interpreter's own name.
    [['sh', '-c', 'exec sleep 1000'], 'sh'],
    [['bash', '-ec', 'echo hi'], 'bash'],
    [['node', '-e', 'setInterval(() => {}, 1000)'], 'node'],
    [['python3', '-c', 'import time'], 'python3'],
    [['perl', '-e', 'sleep 1000'], 'perl'],
    [['perl', '-lne', 'print', 'in.txt'], 'perl'],
    [['ruby', '-0777', '-ne', 'print'], 'ruby'],
    [['php', '-S', '0.0.0.0:8000'], 'php'],
    [['deno', 'task', 'dev'], 'deno'],
    [['bun', 'x', 'cowsay'], 'bun'],
    [['node'], 'node'],
    [['node', '-'], 'node'],
    [['node', '.'], 'node'],
  ];
  for (const [command, name] of cases) t.equal(defaultName(command), name, command.join(' '));
  t.equal(defaultName(['node', '.'], '/srv/shop'), 'shop', 'a directory script is named after the work dir it resolves to');
  t.equal(defaultName([]), undefined);
});

/** Default pid files live in a shared place as root: names unique to this run, removed at the end. */
function defaultPlace(box: ReturnType<typeof sandbox>) {
  const root = process.getuid?.() === 0;
  const runtime = join(box.dir, 'xdg');
  const env = root ? box.env : { ...box.env, XDG_RUNTIME_DIR: runtime };
  const dir = root ? '/run/daemonocle' : join(runtime, 'daemonocle');
  const pidFile = (name: string) => join(dir, `${name}.pid`);
  return { env, pidFile };
}

t.test('two Node apps started without --name are two daemons, each with its own pid file', async (t) => {
  const box = sandbox(t);
  const { env, pidFile } = defaultPlace(box);
  const a = `names-a-${process.pid}`;
  const b = `names-b-${process.pid}`;
  for (const n of [a, b]) writeFileSync(join(box.dir, `${n}.js`), 'setInterval(() => {}, 1000);\n');
  t.teardown(() => {
    for (const n of [a, b]) for (const f of [pidFile(n), `${pidFile(n)}.lock`]) rmSync(f, { force: true });
  });
  const startA = await box.cli(['start', '--grace', '0.2', '--', process.execPath, '--max-old-space-size=100', join(box.dir, `${a}.js`)], { env });
  t.equal(startA.stdout, `Starting ${a} ... OK\n`, startA.stderr);
  const startB = await box.cli(['start', '--grace', '0.2', '--', process.execPath, join(box.dir, `${b}.js`)], { env });
  t.equal(startB.stdout, `Starting ${b} ... OK\n`, startB.stderr);
  t.equal(startB.stderr, '');
  t.ok(existsSync(pidFile(a)) && existsSync(pidFile(b)), 'a pid file each');
  t.not(readPid(pidFile(a)), readPid(pidFile(b)));
  t.equal(box.processes().length, 2, 'two daemons');
  // An explicit --name always wins over the derived one.
  const named = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'shop', '--grace', '0.2', '--', process.execPath, join(box.dir, `${a}.js`)], { env });
  t.equal(named.stdout, 'Starting shop ... OK\n');
  for (const n of [a, b]) t.equal((await box.cli(['stop', '--name', n], { env })).stdout, `Stopping ${n} ... OK\n`);
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'shop'])).stdout, 'Stopping shop ... OK\n');
});

t.test("start finding another command under the pid file says what runs there; the same command, nothing more", async (t) => {
  const box = sandbox(t);
  const a = join(box.dir, 'a.js');
  const odd = join(box.dir, 'odd\x1b[2J.js');
  writeFileSync(a, 'setInterval(() => {}, 1000);\n');
  writeFileSync(odd, 'setInterval(() => {}, 1000);\n');
  const args = ['start', '--pid-file', box.pidFile, '--name', 'web', '--grace', '0.2', '--'];
  t.equal((await box.cli([...args, process.execPath, a])).stdout, 'Starting web ... OK\n');
  const pid = readPid(box.pidFile);
  const same = await box.cli([...args, process.execPath, a]);
  t.equal(same.stderr, `WARNING: web already running with PID ${pid}\n`);
  const other = await box.cli([...args, process.execPath, join(box.dir, 'b.js')]);
  t.equal(other.stderr, `WARNING: web already running with PID ${pid}, started as '${process.execPath} ${a}'\n`);
  t.equal(other.exitCode, 0);
  t.equal(other.stdout, '');
  // A shell's inline code may exec anything: no claim either way.
  const shell = await box.cli([...args, 'sh', '-c', `exec ${process.execPath} ${a}`]);
  t.equal(shell.stderr, `WARNING: web already running with PID ${pid}\n`);
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile, '--name', 'web'])).exitCode, 0);

  // The command line is printed escaped for the terminal.
  t.equal((await box.cli([...args, process.execPath, odd])).stdout, 'Starting web ... OK\n');
  const seen = await box.cli([...args, process.execPath, a]);
  t.equal(seen.stderr, `WARNING: web already running with PID ${readPid(box.pidFile)}, started as '${process.execPath} "${box.dir}/odd\\x1b[2J.js"'\n`);
});
