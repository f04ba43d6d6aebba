#!/usr/bin/env node
// How long loading koffi takes through its index.js (which also loads node:https, node:zlib and
// node:crypto) against its binary alone, as src/base/native.ts loads it. Each in a fresh process.
//   node bench/koffi-load.cjs
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const root = join(__dirname, '..', 'node_modules', 'koffi');
const binary = join(root, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node');
const once = (target) => Number(execFileSync(process.execPath, ['-e', `const t = performance.now(); require(${JSON.stringify(target)}); process.stdout.write(String(performance.now() - t))`]));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = (target) => median(Array.from({ length: 11 }, () => once(target)));
const index = runs(root);
const direct = runs(binary);
console.log(`node ${process.version}: require('koffi') ${index.toFixed(1)} ms, its binary alone ${direct.toFixed(1)} ms (${(index / direct).toFixed(1)}x)`);
