#!/usr/bin/env node
// sweep.js RUN: kills every live process whose environment carries DAEMONOCLE_TEST_RUN=RUN and
// lists it on stderr; exits 1 if there was any. The tool never sends SIGKILL unasked; the tests'
// own cleanup does.
import { readFileSync, readdirSync } from 'node:fs';

const run = process.argv[2];
if (!run) {
  console.error('usage: sweep.js RUN');
  process.exit(2);
}
const needle = `DAEMONOCLE_TEST_RUN=${run}`;

function survivors() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) continue;
      found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim() });
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return found;
}

const left = survivors();
for (const { pid, cmdline } of left) {
  console.error(`sweep: the suite left PID ${pid} running: ${cmdline}`);
}
for (let round = 0; round < 50; round++) {
  const alive = survivors();
  if (alive.length === 0) break;
  for (const { pid } of alive) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await new Promise((r) => setTimeout(r, 20));
}
if (left.length > 0) {
  console.error(`sweep: FAILED: ${left.length} process(es) outlived the suite and were killed`);
  process.exit(1);
}
console.log('sweep: no process outlived the suite');
