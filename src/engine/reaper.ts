// Orphan reaping for PID 1 (or a child subreaper). libuv reaps only its own children, and
// waitpid(-1) would steal their statuses from it, so orphans are found by name and reaped one by
// one: every zombie child of ours that is not one libuv is waiting for.
import { readdirSync } from 'node:fs';
import { waitPidNoHang } from '../base/native.js';
import { listPids, readProcText, readStat } from '../process/proc.js';

/** Children of this process, from /proc/self/task/TID/children (orphans may land on any thread). */
function ourChildren(): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return fallbackScan();
  }
  for (const tid of tasks) {
    let text: string;
    try {
      text = readProcText(`/proc/self/task/${tid}/children`);
    } catch {
      return fallbackScan();
    }
    for (const word of text.split(' ')) if (word) found.push(Number(word));
  }
  return found;
}

/** Kernels without CONFIG_PROC_CHILDREN: scan every process for our pid as parent. */
function fallbackScan(): number[] {
  return listPids().filter((pid) => readStat(pid)?.ppid === process.pid);
}

/** One pass over the children this moment shows: reaps the zombies libuv does not own. */
function reapPass(owned: (pid: number) => boolean): number {
  let reaped = 0;
  for (const pid of ourChildren()) {
    if (owned(pid)) continue;
    if (readStat(pid)?.state !== 'Z') continue;
    const r = waitPidNoHang(pid);
    if (r.state === 'exited' || r.state === 'killed') reaped++;
  }
  return reaped;
}

/**
 * Reaps every zombie child except those libuv owns; returns how many. The children files are no
 * atomic snapshot (the kernel may skip a child that changes during the read), and SIGCHLDs
 * coalesce, so passes repeat until one finds nothing: no zombie is left for a signal that never comes.
 */
function reapOrphans(owned: (pid: number) => boolean): number {
  let total = 0;
  for (let n = reapPass(owned); n > 0; n = reapPass(owned)) total += n;
  return total;
}

/** Reaps on every SIGCHLD (and once now); returns a function that stops it. */
export function startReaping(owned: (pid: number) => boolean): () => void {
  const onChild = () => {
    reapOrphans(owned);
  };
  process.on('SIGCHLD', onChild);
  onChild();
  return () => process.removeListener('SIGCHLD', onChild);
}
