import { EXIT } from '../base/errors.js';
import { escapeForTerminal, out, outJson, warn } from '../base/log.js';
import { PidFile } from '../pidfile/pidfile.js';
import type { ActionOptions } from '../options/resolve.js';
import { collectStatus, statusLine } from '../process/sample.js';
import { drawTree } from '../process/tree.js';

/** Never writes: a stale pid file is reported (exit 1), not removed. */
export async function status(opts: ActionOptions): Promise<number> {
  const state = PidFile.of(opts).inspect();
  if (state.kind !== 'running') {
    if (state.kind === 'broken') warn(`Broken pid file ${opts.pidFile}`);
    if (opts.json) outJson({ name: opts.name, pid: null, status: 'not running' });
    else out(`${escapeForTerminal(opts.name)} -- not running\n`);
    return state.kind === 'missing' ? EXIT.notRunning : EXIT.failure;
  }
  const s = await collectStatus(opts.name, state.pid, state.stat, opts.tree);
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
