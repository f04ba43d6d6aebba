// `npm pack` yields a package that installs and runs elsewhere.
import t from 'tap';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, processesWithToken } from './helpers.js';
import { randomUUID } from 'node:crypto';

t.test('the packed tarball installs into a fresh project and its bin works', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daemonocle-pack-'));
  const token = randomUUID();
  t.teardown(() => {
    for (const pid of processesWithToken(token)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const packed = await execa('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: ROOT });
  const filename = JSON.parse(packed.stdout)[0].filename as string;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module' }));
  await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, filename)], { cwd: dir });
  const env = { ...process.env, DAEMONOCLE_TEST_TOKEN: token };
  const bin = join(dir, 'node_modules', '.bin', 'daemonocle');
  const version = await execa(bin, ['--version'], { cwd: dir, env });
  t.match(version.stdout, /^\d+\.\d+\.\d+$/);
  const pidFile = join(dir, 'app.pid');
  const start = await execa(bin, ['start', '--pid-file', pidFile, '--grace', '0.2', '--', 'sleep', '1000'], { cwd: dir, env });
  t.equal(start.stdout, 'Starting sleep ... OK');
  const stop = await execa(bin, ['stop', '--pid-file', pidFile, '--name', 'sleep'], { cwd: dir, env });
  t.equal(stop.stdout, 'Stopping sleep ... OK');
  const lib = await execa('node', ['--input-type=module', '-e', "import { DaemonError, EXIT } from 'daemonocle'; console.log(typeof DaemonError, EXIT.notRunning)"], { cwd: dir });
  t.equal(lib.stdout, 'function 3', 'the library entry point imports');

  // Types ship with the package: a consumer's TypeScript sees Daemon and its options.
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
  writeFileSync(
    join(dir, 'good.ts'),
    `import { Daemon, type DaemonOptions } from 'daemonocle';
const options: DaemonOptions = { worker: async () => {}, umask: '022', stopTimeout: 5, detach: 'auto' };
const daemon = new Daemon(options);
daemon.exposeAction('hello', (args: string[]) => args.length);
const code: Promise<number> = daemon.doAction('status');
void code;
`,
  );
  const good = await execa(process.execPath, [tsc, ...flags, 'good.ts'], { cwd: dir, reject: false });
  t.equal(good.exitCode, 0, `a correct consumer type-checks: ${good.stdout}`);
  writeFileSync(join(dir, 'bad.ts'), `import { Daemon } from 'daemonocle';\nnew Daemon({ umask: true });\n`);
  const bad = await execa(process.execPath, [tsc, ...flags, 'bad.ts'], { cwd: dir, reject: false });
  t.not(bad.exitCode, 0, 'a wrong option type is a compile error');
  t.match(bad.stdout, /bad\.ts\(2,14\): error TS2322: Type 'true' is not assignable to type 'string \| number \| undefined'/);

  // And the library works from the installed package: a Daemon started and stopped.
  writeFileSync(
    join(dir, 'app.mjs'),
    `import { Daemon } from 'daemonocle';
const daemon = new Daemon({ name: 'consumer', pidFile: process.env.PID_FILE, worker: async () => { daemon.ready(); await new Promise(() => {}); } });
process.exitCode = await daemon.doAction(process.argv[2]);
`,
  );
  const appEnv = { ...env, PID_FILE: join(dir, 'consumer.pid') };
  const started = await execa('node', ['app.mjs', 'start'], { cwd: dir, env: appEnv, stdin: 'ignore' });
  t.equal(started.stdout, 'Starting consumer ... OK');
  const stopped = await execa('node', ['app.mjs', 'stop'], { cwd: dir, env: appEnv, stdin: 'ignore' });
  t.equal(stopped.stdout, 'Stopping consumer ... OK');
});
