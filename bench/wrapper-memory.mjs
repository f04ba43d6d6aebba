#!/usr/bin/env node
// The run wrapper's own memory (Private_Dirty) and threads, plain and with V8 flags, against an
// idle node, and what importing run's modules alone costs. Medians of 3.
//   node bench/wrapper-memory.mjs
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js');
const N = process.execPath;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kib = (pid, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
async function measure(label, argv) {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const c = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    await sleep(900);
    runs.push([kib(c.pid, 'Private_Dirty'), kib(c.pid, 'Rss'), readdirSync(`/proc/${c.pid}/task`).length]);
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
  const [pd, rss, threads] = runs.sort((a, b) => a[0] - b[0])[1];
  console.log(`${label.padEnd(34)} Private_Dirty ${(pd / 1024).toFixed(1)} MiB  RSS ${(rss / 1024).toFixed(1)} MiB  threads ${threads}`);
}
await measure('idle node', [N, '-e', 'setInterval(()=>{},1e9)']);
for (const flags of [[], ['--max-semi-space-size=1'], ['--single-threaded-gc'], ['--lite-mode'], ['--v8-pool-size=1']]) {
  await measure(`run ${flags.join(' ')}`, [N, ...flags, BIN, 'run', '--', 'sleep', '1000']);
}
const dist = join(import.meta.dirname, '..', 'dist');
const imports = ['cli/run-cli.js', 'actions/run.js', 'engine/foreground.js'].map((m) => `await import(${JSON.stringify(join(dist, m))});`).join(' ');
const probe = (code) => execFileSync(N, ['--input-type=module', '-e', `${code} setTimeout(async () => { const m = process.memoryUsage(); const { readFileSync } = await import('node:fs'); console.log(JSON.stringify({ heapTotal: m.heapTotal, external: m.external, pd: Number(/Private_Dirty:\\s+(\\d+)/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) })); }, 300);`], { encoding: 'utf8' });
const [bare, loaded] = [JSON.parse(probe('')), JSON.parse(probe(imports))];
const mb = (n) => (n / 1048576).toFixed(1);
console.log(`importing run's modules alone: Private_Dirty +${((loaded.pd - bare.pd) / 1024).toFixed(1)} MiB, heap +${mb(loaded.heapTotal - bare.heapTotal)} MiB, external +${mb(loaded.external - bare.external)} MiB`);
