#!/usr/bin/env node
// The CLI's entry. `npm run build` bundles it (rollup.config.mjs) into dist/bin/daemonocle.cjs,
// the package's bin. The compile cache must be on before the rest of the CLI is loaded, hence the
// dynamic import (no top-level await: the bundle is CommonJS). The signal state this process was
// started with is recorded before anything can install a handler (engine/inherited-signals.ts).
import { enableCompileCache } from './compile-cache.js';
import { recordInheritedSignals } from '../engine/inherited-signals.js';

recordInheritedSignals();
enableCompileCache();
import('./main.js').then(
  async ({ runCli }) => {
    process.exitCode = await runCli(process.argv.slice(2));
  },
  (err: Error) => {
    process.stderr.write(`ERROR: cannot load the CLI: ${err.message}\n`);
    process.exitCode = 1;
  },
);
