#!/usr/bin/env node
// Self-reload: a daemon that watches its config file and restarts itself in place when it changes.
//   node examples/file-watcher.js start|status|stop
import { appendFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Daemon } from 'daemonocle';

const configFile = process.env.EXAMPLE_CONFIG ?? '/tmp/daemonocle_example.conf';
const logFile = process.env.EXAMPLE_LOG ?? '/tmp/daemonocle_example.log';
const intervalMs = Number(process.env.EXAMPLE_INTERVAL_MS ?? 1000);
const log = (message) => appendFileSync(logFile, `${new Date().toISOString()} [${process.pid}] ${message}\n`);

class FileWatcher {
  constructor(filename, daemon) {
    this.filename = filename;
    this.daemon = daemon;
    this.mtime = statSync(filename).mtimeMs;
  }

  fileHasChanged() {
    const current = statSync(this.filename).mtimeMs;
    if (current === this.mtime) return false;
    this.mtime = current;
    return true;
  }

  async watch() {
    log(`watching ${this.filename}`);
    this.daemon.ready();
    for (;;) {
      if (this.fileHasChanged()) {
        log('config changed, reloading');
        await this.daemon.reload();
      }
      await sleep(intervalMs);
    }
  }
}

const daemon = new Daemon({
  pidFile: process.env.EXAMPLE_PID_FILE ?? '/tmp/daemonocle_example.pid',
  shutdownCallback: (message, code) => log(`${message} (code ${code})`),
});
const watcher = new FileWatcher(configFile, daemon);
daemon.worker = () => watcher.watch();
process.exitCode = await daemon.doAction(process.argv[2] ?? 'status');
