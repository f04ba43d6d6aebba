#!/usr/bin/env node
// Two builds side by side: `start --grace 0` and `stop` of each, alternately, in one run, each as
// a ratio to a bare `node -e 0` timed just before it (the machine's drift hits both alike).
//   node bench/ab.mjs OLD/dist/bin/daemonocle.cjs dist/bin/daemonocle.cjs [ROUNDS]
// (OLD: e.g. `git worktree add /tmp/old REV && cd /tmp/old && npm ci && npm run build`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [oldBin, newBin, rounds = '15'] = process.argv.slice(2);
if (!oldBin || !newBin) {
  console.error('usage: node bench/ab.mjs OLD_BIN NEW_BIN [ROUNDS]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'daemonocle-ab-'));
const time = (args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const builds = { old: oldBin, new: newBin };
const seen = { old: { boot: [], start: [], stop: [] }, new: { boot: [], start: [], stop: [] } };
try {
  for (let i = 0; i < Number(rounds); i++) {
    for (const [k, bin] of Object.entries(builds)) {
      const pidFile = join(dir, `${k}.pid`);
      seen[k].boot.push(time(['-e', '0']));
      seen[k].start.push(time([bin, 'start', '--pid-file', pidFile, '--grace', '0', '--', 'sleep', '1000']));
      seen[k].stop.push(time([bin, 'stop', '--pid-file', pidFile]));
    }
  }
  for (const k of Object.keys(builds)) {
    const boot = median(seen[k].boot);
    console.log(`${k}: node boot ${boot.toFixed(1)} ms, start --grace 0 ${(median(seen[k].start) / boot).toFixed(2)}x, stop ${(median(seen[k].stop) / boot).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
