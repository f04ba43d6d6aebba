#!/usr/bin/env node
// The CLI. The compile cache must be on before the rest of the CLI is loaded, hence the dynamic import.
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();
const { runCli } = await import('./cli/run-cli.js');
process.exitCode = await runCli(process.argv.slice(2));
