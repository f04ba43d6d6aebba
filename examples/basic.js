#!/usr/bin/env node
// The basic example: a worker that logs to a file, and a shutdown callback that says why it stopped.
//   node examples/basic.js start|status|stop|restart
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Daemon } from 'daemonocle';

// The log beside this script, and the default pid file (from the name: basic.js), unless told otherwise.
const logFile = process.env.EXAMPLE_LOG ?? new URL('basic.log', import.meta.url);
const log = (level, message) => appendFileSync(logFile, `${new Date().toISOString()} [${level}] ${message}\n`);

function cbShutdown(message, code) {
  log('INFO', 'Daemon is stopping');
  log('DEBUG', `${message} (code ${code})`);
}

// This is your daemon. It logs, and then sleeps, and then logs again.
async function main() {
  log('INFO', 'Daemon is starting');
  for (;;) {
    log('DEBUG', 'Still running');
    await sleep(10_000);
  }
}

const daemon = new Daemon({
  worker: main,
  shutdownCallback: cbShutdown,
  ...(process.env.EXAMPLE_PID_FILE ? { pidFile: process.env.EXAMPLE_PID_FILE } : {}),
});
process.exitCode = await daemon.doAction(process.argv[2] ?? 'status');
