// `list`: every daemon whose pid file is in a pid directory, at a glance (like `pm2 ls`). One pass
// over /proc and one %cpu sample serve all of them. Never writes: a stale, broken or refused pid
// file is reported in its row and left as it is.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DaemonError, EXIT, reason } from '../base/errors.js';
import { escapeForTerminal, out, outJson } from '../base/log.js';
import { defaultPidFile } from '../options/values.js';
import { PidFile } from '../pidfile/pidfile.js';
import { groupOf, processTable, type ProcStat } from '../process/proc.js';
import { formatUptime, sampleProcesses, statusFrom, type DaemonStatus } from '../process/sample.js';
import type { ActionOptions } from '../options/resolve.js';

type Entry = { name: string; running: { pid: number; stat: ProcStat } } | { name: string; status: string };

export async function list(opts: ActionOptions): Promise<number> {
  const dir = opts.pidDir ?? dirname(defaultPidFile('list'));
  const files = pidFilesIn(dir, opts.pidDir !== undefined);
  if (files.length === 0) {
    out(opts.json ? '[]\n' : `no daemons in ${escapeForTerminal(dir)}\n`);
    return EXIT.ok;
  }
  const entries = files.map((file) => inspect(dir, file, opts.pidDir === undefined));
  const rows = await figures(entries);
  if (opts.json) outJson(rows);
  else out(table(rows));
  return EXIT.ok;
}

/** The *.pid files of dir, by name. A default directory that does not exist yet holds none. */
function pidFilesIn(dir: string, given: boolean): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.pid') && f !== '.pid').sort();
  } catch (err) {
    if (!given && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DaemonError('pidfile-unusable', `Cannot read pid directory ${dir}: ${reason(err)}`, { exitCode: EXIT.unknownStatus });
  }
}

function inspect(dir: string, file: string, isDefault: boolean): Entry {
  const name = file.slice(0, -'.pid'.length);
  const path = join(dir, file);
  try {
    const state = new PidFile(path, { isDefault }).inspect();
    if (state.kind === 'running') return { name, running: { pid: state.pid, stat: state.stat } };
    return { name, status: state.kind === 'broken' ? 'broken pid file' : 'not running' };
  } catch (err) {
    const message = (err as Error).message;
    const why = message.includes(`${path}: `) ? message.slice(message.indexOf(`${path}: `) + path.length + 2) : message;
    return { name, status: `refused: ${why.replace(/; refusing to (trust|use) it$/, '')}` };
  }
}

type Row = DaemonStatus | { name: string; pid: null; status: string };

async function figures(entries: Entry[]): Promise<Row[]> {
  const table = processTable();
  const groups = new Map<string, number[]>();
  for (const e of entries) if ('running' in e) groups.set(e.name, groupOf(table, e.running.pid, e.running.stat.pgrp));
  const sample = await sampleProcesses([...new Set([...groups.values()].flat())]);
  return entries.map((e) =>
    'running' in e ? statusFrom(e.name, e.running.pid, e.running.stat, groups.get(e.name)!, sample) : { name: e.name, pid: null, status: e.status },
  );
}

/** One aligned table: NAME PID STATUS UPTIME %CPU %MEM; a name (or a reason naming a path) shown escaped, one row each. */
function table(rows: Row[]): string {
  const cells = rows.map((r) =>
    r.pid === null
      ? [escapeForTerminal(r.name), '-', escapeForTerminal(r.status), '-', '-', '-']
      : [escapeForTerminal(r.name), String(r.pid), r.status, formatUptime(r.uptime), r.cpu_percent.toFixed(1), r.memory_percent.toFixed(1)],
  );
  const all = [['NAME', 'PID', 'STATUS', 'UPTIME', '%CPU', '%MEM'], ...cells];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  return all.map((c) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
