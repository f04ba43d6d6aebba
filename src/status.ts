// What `status` reports: the daemon and every live member of its process group, with CPU
// sampled over ~0.1 s and memory as a share of the machine's total.
import { totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { groupMembers, stateWord, uptimeSeconds, type ProcStat } from './proc.js';

export interface DaemonStatus {
  name: string;
  pid: number;
  pids: number[];
  status: string;
  uptime: number;
  cpu_percent: number;
  memory_percent: number;
}

const SAMPLE_MS = 100;

type Usage = Record<string, { cpu: number; memory: number } | undefined>;
type Pidusage = ((pids: number[]) => Promise<Usage>) & { clear(): void };

export async function collectStatus(name: string, pid: number, stat: ProcStat): Promise<DaemonStatus> {
  const members = groupMembers(stat.pgrp);
  const pids = members.includes(pid) ? members : [pid, ...members].sort((a, b) => a - b);
  const pidusage = createRequire(import.meta.url)('pidusage') as Pidusage;
  // The first call records where each process stands; the second measures the interval since.
  await pidusage(pids).catch(() => ({}));
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  const usage: Usage = await pidusage(pids).catch(() => ({}));
  pidusage.clear();
  let cpu = 0;
  let memory = 0;
  for (const p of pids) {
    cpu += usage[p]?.cpu ?? 0;
    memory += usage[p]?.memory ?? 0;
  }
  return {
    name,
    pid,
    pids,
    status: stateWord(stat.state),
    uptime: Math.floor(uptimeSeconds(stat)),
    cpu_percent: round1(cpu),
    memory_percent: round1((memory / totalmem()) * 100),
  };
}

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

export function statusLine(s: DaemonStatus): string {
  return `${s.name} -- pid: ${s.pid}, status: ${s.status}, uptime: ${formatUptime(s.uptime)}, %cpu: ${s.cpu_percent.toFixed(1)}, %mem: ${s.memory_percent.toFixed(1)}`;
}
