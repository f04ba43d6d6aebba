#!/usr/bin/env node
// The run wrapper's own memory (Private_Dirty) and threads, plain and with V8 flags, against an
// idle node, and what importing run's modules alone costs. Medians of 3, at 0.9 s and settled (12 s).
//   node bench/wrapper-memory.mjs
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', 'dist', 'bin', 'daemonocle.cjs');
const N = process.execPath;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kib = (pid, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
/** Three copies side by side: at 0.9 s, and settled at 12 s (V8's memory reducer runs ~8 s after startup). */
async function measure(label, argv) {
  const children = [0, 1, 2].map(() => spawn(argv[0], argv.slice(1), { stdio: 'ignore' }));
  const sample = () => children.map((c) => [kib(c.pid, 'Private_Dirty'), kib(c.pid, 'Rss'), readdirSync(`/proc/${c.pid}/task`).length]);
  await sleep(900);
  const early = sample();
  await sleep(11_100);
  const settled = sample();
  await Promise.all(children.map((c) => new Promise((r) => {
    c.once('exit', r);
    c.kill('SIGTERM');
  })));
  const mid = (runs) => runs.sort((x, y) => x[0] - y[0])[1];
  const [pd, rss, threads] = mid(early);
  const [pdSettled] = mid(settled);
  console.log(`${label.padEnd(34)} Private_Dirty ${(pd / 1024).toFixed(1)} MiB (settled ${(pdSettled / 1024).toFixed(1)})  RSS ${(rss / 1024).toFixed(1)} MiB  threads ${threads}`);
}
await measure('idle node', [N, '-e', 'setInterval(()=>{},2**30)']);
for (const flags of [[], ['--max-semi-space-size=1'], ['--single-threaded-gc'], ['--lite-mode'], ['--v8-pool-size=1']]) {
  await measure(`run ${flags.join(' ')}`, [N, ...flags, BIN, 'run', '--', 'sleep', '1000']);
}
const dist = join(import.meta.dirname, '..', 'dist');
const requires = ['bin/main.cjs', 'bin/run.cjs'].map((m) => `require(${JSON.stringify(join(dist, m))});`).join(' ');
const probe = (code) => execFileSync(N, ['-e', `${code} setTimeout(() => { const m = process.memoryUsage(); console.log(JSON.stringify({ heapTotal: m.heapTotal, external: m.external, pd: Number(/Private_Dirty:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) })); }, 300);`], { encoding: 'utf8' });
const [bare, loaded] = [JSON.parse(probe('')), JSON.parse(probe(requires))];
const mb = (n) => (n / 1048576).toFixed(1);
console.log(`requiring run's chunks alone: Private_Dirty +${((loaded.pd - bare.pd) / 1024).toFixed(1)} MiB, heap +${mb(loaded.heapTotal - bare.heapTotal)} MiB, external +${mb(loaded.external - bare.external)} MiB`);
