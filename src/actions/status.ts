import { EXIT } from '../base/errors.js';
import { escapeForTerminal, out, outJson, warn } from '../base/log.js';
import { PidFile } from '../pidfile/pidfile.js';
import type { ActionOptions } from '../options/resolve.js';
import { collectStatus, statusLine } from '../process/sample.js';
import { TRACKING } from '../process/service.js';
import { drawTree } from '../process/tree.js';
import { leftBehind, serviceTrust } from './stop.js';

/** Never writes: a stale pid file is reported (exit 1), not removed. */
export async function status(opts: ActionOptions): Promise<number> {
  const pidFile = PidFile.of(opts);
  const state = pidFile.inspect();
  if (state.kind !== 'running') {
    if (state.kind === 'broken') warn(`Broken pid file ${opts.pidFile}`);
    // The daemon died, but processes of its service still run: said so, and `stop` ends them.
    const left = state.kind === 'stale' ? leftBehind(pidFile, state)?.members.map((m) => m.pid) : undefined;
    if (opts.json) outJson({ name: opts.name, pid: null, status: 'not running', ...(left ? { pids: left, tracking: TRACKING } : {}) });
    else if (left) {
      const n = left.length === 1 ? '1 process of it is' : `${left.length} processes of it are`;
      out(`${escapeForTerminal(opts.name)} -- not running, but ${n}: ${left.join(', ')}\n`);
    } else out(`${escapeForTerminal(opts.name)} -- not running\n`);
    return state.kind === 'missing' ? EXIT.notRunning : EXIT.failure;
  }
  const s = await collectStatus(opts.name, state.pid, state.stat, opts.tree, serviceTrust(pidFile));
  if (opts.json) {
    outJson(s);
  } else {
    out(`${statusLine(s)}\n`);
    if (s.tree) {
      // On a terminal each line is cut to its width; elsewhere (a pipe, a file) never.
      const width = process.stdout.isTTY ? process.stdout.columns : undefined;
      out(drawTree(s.tree, state.stat.pgrp, width).map((line) => `${line}\n`).join(''));
    }
  }
  return EXIT.ok;
}
