// `npm pack` yields a package that installs and runs elsewhere.
import t from 'tap';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, processesWithToken, unavailable } from './helpers.js';
import { randomUUID } from 'node:crypto';

/**
 * TypeScript 7 (the consumer type check; tap itself needs 5.9 in the project), installed once
 * outside the repo beside .ci/run's Node lines and reused by later runs.
 */
async function typescript7(): Promise<string | undefined> {
  const dir = join(process.env.DAEMONOCLE_CI_CACHE ?? join(homedir(), '.cache', 'daemonocle-ci'), 'typescript7');
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    mkdirSync(dir, { recursive: true });
    await execa('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', 'typescript@7'], { reject: false });
  }
  return existsSync(tsc) ? tsc : undefined;
}

/** The local targets of README.md's links (no URL, no bare #anchor), without their #anchor. */
function readmeLinkTargets(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!.replace(/#.*/, ''));
  return [...new Set(targets.filter((target) => target !== '' && !/^[a-z]+:/i.test(target)))].sort();
}

t.test('the tarball ships every file the README links to, and runs nothing at install', async (t) => {
  const packed = await execa('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT });
  const [info] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
  const files = info.files.map((f) => f.path);
  const targets = readmeLinkTargets();
  t.ok(targets.length > 10, `README links: ${targets.join(' ')}`);
  for (const target of targets) {
    const shipped = target.endsWith('/') ? files.some((f) => f.startsWith(target)) : files.includes(target);
    t.ok(shipped, `README links ${target}: in the tarball`);
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
    t.equal(pkg.scripts[hook], undefined, `no '${hook}' script: installing the tarball runs nothing`);
  }
});

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

  // Types ship with the package and compile in a strict consumer, under TypeScript 5.9 (the
  // project's) and 7, whose default "types" is none: daemonocle's own types must pull in Node's.
  // @types/node is the consumer's (here the project's, linked in). Both an ES module and a
  // CommonJS file (.cts) import it.
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true, module: 'nodenext', target: 'es2022' },
      files: ['good.ts', 'common.cts'],
    }),
  );
  writeFileSync(
    join(dir, 'good.ts'),
    `import { Daemon, DaemonError, EXIT, type Action, type DaemonErrorCode, type DaemonOptions, type ShutdownCallback, type Worker } from 'daemonocle';
const worker: Worker = async () => {};
const shutdownCallback: ShutdownCallback = (message: string, code: number) => console.log(message, code);
const options: DaemonOptions = { worker, shutdownCallback, umask: '022', stopTimeout: 5, detach: 'auto', pidFile: process.env.PID_FILE };
const daemon = new Daemon(options).exposeAction('hello', (args: string[]) => args.length);
const actions: Action[] = ['start', 'stop', 'restart', 'status', 'reload', 'run'];
const code: Promise<number> = daemon.doAction(process.argv[2] ?? 'status');
void daemon.doAction('hello', ['x']);
// @ts-expect-error: no such action
void daemon.doAction('stat');
// @ts-expect-error: umask is a number or an octal string
new Daemon({ umask: true });
const failure: number = EXIT.failure;
const errorCode: DaemonErrorCode | undefined = new DaemonError('usage', 'x').code;
void [actions, code, failure, errorCode];
export {};
`,
  );
  writeFileSync(
    join(dir, 'common.cts'),
    `import { Daemon } from 'daemonocle';
const daemon = new Daemon({ worker: () => {} });
daemon.doAction(process.argv[2] ?? 'status').then((code) => { process.exitCode = code; });
`,
  );
  for (const [version, tsc] of [
    ['5.9', join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')],
    ['7', await typescript7()],
  ] as const) {
    if (tsc === undefined) {
      unavailable(t, 'typescript@7 from the npm registry (installed once under ~/.cache/daemonocle-ci)');
      continue;
    }
    // Without the loader tap puts in every child's NODE_OPTIONS (it breaks TypeScript 7's tsc).
    const check = await execa('env', ['-u', 'NODE_OPTIONS', process.execPath, tsc, '-p', 'tsconfig.json'], { cwd: dir, reject: false });
    t.equal(check.exitCode, 0, `TypeScript ${version}: a strict consumer type-checks, and the @ts-expect-error lines are errors: ${check.stdout}${check.stderr}`);
  }

  // Exactly the exports docs/library.md documents, also through require() (Node's require of ES
  // modules: Node 20.19+, 22.12+, 24, 26 and Bun).
  const exported = await execa('node', ['--input-type=module', '-e', "console.log(Object.keys(await import('daemonocle')).sort().join(' '))"], { cwd: dir });
  t.equal(exported.stdout, 'Daemon DaemonError EXIT', 'the runtime exports');
  const required = await execa('node', ['-e', "console.log(Object.keys(require('daemonocle')).sort().join(' '))"], { cwd: dir });
  t.equal(required.stdout, 'Daemon DaemonError EXIT', "require('daemonocle') from CommonJS");
  const library = readFileSync(join(ROOT, 'docs', 'library.md'), 'utf8');
  const declared = readFileSync(join(dir, 'node_modules', 'daemonocle', 'dist', 'index.d.ts'), 'utf8');
  const names = [...declared.matchAll(/\bexport \{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim()));
  t.ok(names.length >= 8, `declared exports: ${names.join(' ')}`);
  for (const name of names) t.match(library, `\`${name}\``, `docs/library.md documents ${name}`);

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

  // The same from a CommonJS script (an async main, no top-level await): started and stopped.
  writeFileSync(
    join(dir, 'app.cjs'),
    `const { Daemon } = require('daemonocle');
const daemon = new Daemon({ name: 'common', pidFile: process.env.PID_FILE, worker: async () => { daemon.ready(); await new Promise(() => {}); } });
daemon.doAction(process.argv[2]).then((code) => { process.exitCode = code; });
`,
  );
  const cjsEnv = { ...env, PID_FILE: join(dir, 'common.pid') };
  const cjsStarted = await execa('node', ['app.cjs', 'start'], { cwd: dir, env: cjsEnv, stdin: 'ignore' });
  t.equal(cjsStarted.stdout, 'Starting common ... OK');
  const cjsStopped = await execa('node', ['app.cjs', 'stop'], { cwd: dir, env: cjsEnv, stdin: 'ignore' });
  t.equal(cjsStopped.stdout, 'Stopping common ... OK');
});
