// `npm ci && npm run demo && npm test` builds once: demo and pretest build only when an input of
// the build changed after the last complete one (scripts/build-if-stale.js).
import t from 'tap';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { staleReason } from '../scripts/build-if-stale.js';

const reasonOf = staleReason as (root: string) => string | undefined;

t.test('a build runs only when src/, tsconfig.json, rollup.config.mjs or package.json changed', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'daemonocle-stale-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const at = (path: string, seconds: number): void => utimesSync(join(root, path), seconds, seconds);
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  for (const file of ['src/index.ts', 'src/cli/run.ts', 'tsconfig.json', 'rollup.config.mjs', 'package.json']) {
    writeFileSync(join(root, file), '');
    at(file, 1000);
  }
  for (const dir of ['src/cli', 'src']) at(dir, 1000);
  t.equal(reasonOf(root), 'dist/ has no complete build');
  mkdirSync(join(root, 'dist', 'bin'), { recursive: true });
  writeFileSync(join(root, 'dist', 'bin', 'daemonocle.cjs'), '');
  at('dist/bin/daemonocle.cjs', 2000);
  t.equal(reasonOf(root), undefined, 'built after every input: no build');
  at('src/cli/run.ts', 3000);
  t.equal(reasonOf(root), 'src changed since the last build', 'a source file changed');
  at('src/cli/run.ts', 1000);
  unlinkSync(join(root, 'src', 'index.ts'));
  at('src/cli/run.ts', 1000);
  t.equal(reasonOf(root), 'src changed since the last build', 'a source file was deleted (its directory changed)');
  at('src', 1000);
  at('package.json', 3000);
  t.equal(reasonOf(root), 'package.json changed since the last build');
});

t.test('demo and pretest build through it; the checkout, just built by pretest, is up to date', async (t) => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.match(scripts.demo, /^node scripts\/build-if-stale\.js && /);
  t.equal(scripts.pretest, 'node scripts/build-if-stale.js');
  const started = Date.now();
  const run = await execa('node', [join(ROOT, 'scripts', 'build-if-stale.js')], { cwd: ROOT });
  t.equal(run.stderr, 'dist/ is up to date (npm run build forces a build)');
  t.ok(Date.now() - started < 5000, `no build: ${Date.now() - started} ms`);
});
