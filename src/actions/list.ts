// `list`: every daemon whose pid file is in a pid directory, at a glance (like `pm2 ls`). One pass
// over /proc and one %cpu sample serve all of them. Never writes: a stale, broken or refused pid
// file is reported in its row and left as it is.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DaemonError, EXIT, reason } from '../base/errors.js';
import { escapeForTerminal, out, outJson } from '../base/log.js';
import { defaultPidFile } from '../options/values.js';
import { PidFile } from '../pidfile/pidfile.js';
import { processTable, type ProcStat } from '../process/proc.js';
import { formatUptime, sampleProcesses, servicePids, statusFrom, type DaemonStatus } from '../process/sample.js';
import { findMembers, TRACKING } from '../process/service.js';
import { trustedOwners } from '../pidfile/directory.js';
import type { ActionOptions } from '../options/resolve.js';

type Entry =
  | { name: string; running: { pid: number; stat: ProcStat } }
  | { name: string; status: string; service?: { pid: number; startTime: number } };

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
    if (state.kind === 'stale' && state.startTime !== undefined) return { name, status: 'not running', service: { pid: state.pid, startTime: state.startTime } };
    return { name, status: state.kind === 'broken' ? 'broken pid file' : 'not running' };
  } catch (err) {
    const message = (err as Error).message;
    const why = message.includes(`${path}: `) ? message.slice(message.indexOf(`${path}: `) + path.length + 2) : message;
    return { name, status: `refused: ${why.replace(/; refusing to (trust|use) it$/, '')}` };
  }
}

type Row = DaemonStatus | { name: string; pid: null; status: string; pids?: number[]; tracking?: string };

/** The figures of each daemon's whole service; a daemon that died with processes of it left says how many. */
async function figures(entries: Entry[]): Promise<Row[]> {
  const table = processTable();
  // As status does without --user: a marker is believed from root's and the caller's processes, and the daemon's own user's.
  const service = { trusted: trustedOwners({ isDefault: false }), table };
  const groups = new Map<string, number[]>();
  for (const e of entries) if ('running' in e) groups.set(e.name, servicePids(table, e.running.pid, e.running.stat, service));
  const sample = await sampleProcesses([...new Set([...groups.values()].flat())]);
  return entries.map((e) => {
    if ('running' in e) return statusFrom(e.name, e.running.pid, e.running.stat, groups.get(e.name)!, sample);
    const left = e.service ? findMembers(e.service, service).map((m) => m.pid) : [];
    if (left.length === 0) return { name: e.name, pid: null, status: e.status };
    return { name: e.name, pid: null, status: e.status, pids: left, tracking: TRACKING };
  });
}

/** One aligned table: NAME PID STATUS UPTIME %CPU %MEM; a name (or a reason naming a path) shown escaped, one row each. */
function table(rows: Row[]): string {
  const cells = rows.map((r) =>
    r.pid === null
      ? [escapeForTerminal(r.name), '-', escapeForTerminal(r.status) + (r.pids ? `, ${r.pids.length} left` : ''), '-', '-', '-']
      : [escapeForTerminal(r.name), String(r.pid), r.status, formatUptime(r.uptime), r.cpu_percent.toFixed(1), r.memory_percent.toFixed(1)],
  );
  const all = [['NAME', 'PID', 'STATUS', 'UPTIME', '%CPU', '%MEM'], ...cells];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  return all.map((c) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
