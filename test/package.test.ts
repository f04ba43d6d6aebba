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
});
