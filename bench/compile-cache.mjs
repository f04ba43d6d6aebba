#!/usr/bin/env node
// What the compile cache saves per action: `--version`, `status` and `stop` (no daemon) run 25
// times each, alternating without and with NODE_COMPILE_CACHE, under the Node running this.
// Needs Node 22.1+.   ~/.cache/daemonocle-ci/node22/.../bin/node bench/compile-cache.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', 'dist', 'bin', 'daemonocle.cjs');
const cache = mkdtempSync(join(tmpdir(), 'daemonocle-cc-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// XDG_CACHE_HOME under /tmp fails daemonocle's own path check: only NODE_COMPILE_CACHE decides.
const env = { ...process.env, XDG_CACHE_HOME: join(cache, 'unused') };
const run = (args, extra) => {
  const t0 = performance.now();
  spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...extra }, stdio: 'ignore' });
  return performance.now() - t0;
};
for (const args of [['--version'], ['status', '--pid-file', join(cache, 'none.pid')], ['stop', '--pid-file', join(cache, 'none.pid')]]) {
  run(args, { NODE_COMPILE_CACHE: cache });
  const plain = [];
  const cached = [];
  for (let i = 0; i < 25; i++) {
    plain.push(run(args, {}));
    cached.push(run(args, { NODE_COMPILE_CACHE: cache }));
  }
  console.log(`node ${process.version} ${args[0].padEnd(9)} plain ${median(plain).toFixed(1)} ms, cached ${median(cached).toFixed(1)} ms`);
}
rmSync(cache, { recursive: true, force: true });
