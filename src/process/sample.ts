// What `status` reports: the daemon, every live member of its process group and every other process
// of its service (src/process/service.ts), with CPU sampled over ~0.1 s and memory as a share of
// the machine's total.
import { totalmem } from 'node:os';
import { cpuTimeMs, groupOf, processTable, readProcText, readStat, stateWord, uptimeSeconds, type ProcStat } from './proc.js';
import { escapeForTerminal } from '../base/log.js';
import { buildTree, treeMembers, type TreeNode } from './tree.js';
import { findMembers, TRACKING, type FindOptions } from './service.js';

export interface DaemonStatus {
  name: string;
  pid: number;
  pids: number[];
  status: string;
  uptime: number;
  cpu_percent: number;
  memory_percent: number;
  /** How the service's processes are found (src/process/service.ts). */
  tracking: string;
  /** With --tree: the group and its descendants, nested by parent. */
  tree?: TreeNode[];
}

const SAMPLE_MS = 100;

/** Resident memory in bytes (VmRSS, which the kernel reports in kB). */
function residentBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readProcText(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// /proc is read directly, as `ps` does: two reads of each process's stat SAMPLE_MS apart, against
// the monotonic clock. (pidusage, used before, spawned two `getconf` shells per call and measured
// the interval with /proc/uptime's 10 ms steps.)
export async function sampleProcesses(pids: number[]): Promise<{ cpu: Map<number, number>; memory: Map<number, number>; stats: Map<number, ProcStat> }> {
  const startedNs = process.hrtime.bigint();
  const before = pids.map((p) => {
    const st = readStat(p);
    return st === null ? null : cpuTimeMs(st);
  });
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const cpu = new Map<number, number>();
  const memory = new Map<number, number>();
  const stats = new Map<number, ProcStat>();
  pids.forEach((p, i) => {
    const was = before[i];
    const st = readStat(p);
    if (was == null || st === null) return;
    stats.set(p, st);
    cpu.set(p, ((cpuTimeMs(st) - was) / elapsedMs) * 100);
    memory.set(p, (residentBytes(p) / totalmem()) * 100);
  });
  return { cpu, memory, stats };
}

const sum = (values: Map<number, number>, pids: number[]) => pids.reduce((total, p) => total + (values.get(p) ?? 0), 0);

/** The status of one daemon from a sample: the figures are its group's sums. */
export function statusFrom(name: string, pid: number, stat: ProcStat, pids: number[], figures: { cpu: Map<number, number>; memory: Map<number, number> }): DaemonStatus {
  return {
    name,
    pid,
    pids,
    status: stateWord(stat.state),
    uptime: Math.floor(uptimeSeconds(stat)),
    cpu_percent: round1(sum(figures.cpu, pids)),
    memory_percent: round1(sum(figures.memory, pids)),
    tracking: TRACKING,
  };
}

/** The daemon, its group and the rest of its service in `table`, in pid order. */
export function servicePids(table: Map<number, ProcStat>, pid: number, stat: ProcStat, service: FindOptions): number[] {
  const members = findMembers({ pid, startTime: stat.startTime }, { ...service, table }).map((m) => m.pid);
  return [...new Set([...groupOf(table, pid, stat.pgrp), ...members])].sort((a, b) => a - b);
}

/** The status line's figures; with `tree`, also every descendant of the group, each with its own. */
export async function collectStatus(name: string, pid: number, stat: ProcStat, tree: boolean, service: FindOptions): Promise<DaemonStatus> {
  const table = processTable();
  const pids = servicePids(table, pid, stat, service);
  const treePids = tree ? [...new Set([...treeMembers(table, pid, stat.pgrp), ...pids])].sort((a, b) => a - b) : [];
  const figures = await sampleProcesses([...new Set([...pids, ...treePids])]);
  const status = statusFrom(name, pid, stat, pids, figures);
  if (!tree) return status;
  const rounded = { cpu: mapValues(figures.cpu, round1), memory: mapValues(figures.memory, round1) };
  return { ...status, tree: buildTree(pid, treePids, figures.stats, rounded) };
}

const mapValues = (m: Map<number, number>, f: (n: number) => number) => new Map([...m].map(([k, v]) => [k, f(v)]));

const round1 = (n: number) => Math.round(n * 10) / 10;

/** `45s`, `12m`, `3h 4m`, `12d 3h 4m` (rounded down). */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h ${m % 60}m`;
}

/** The status line a person reads (the name escaped; --json has it exact). */
export function statusLine(s: DaemonStatus): string {
  return `${escapeForTerminal(s.name)} -- pid: ${s.pid}, status: ${s.status}, uptime: ${formatUptime(s.uptime)}, %cpu: ${s.cpu_percent.toFixed(1)}, %mem: ${s.memory_percent.toFixed(1)}`;
}
