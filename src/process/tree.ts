// `status --tree`: the daemon's process group and every descendant of its members, drawn by
// parent, each with its own state, %cpu and %mem. One pass over /proc finds them all; the %cpu
// sample is the one `status` takes anyway.
import { escapeForTerminal } from '../base/log.js';
import { childrenByParent, readProcText, stateWord, type ProcStat } from './proc.js';

export interface TreeNode {
  pid: number;
  ppid: number;
  pgid: number;
  status: string;
  cpu_percent: number;
  memory_percent: number;
  command: string;
  children: TreeNode[];
}

/** The group's members and all their descendants, from one snapshot. */
export function treeMembers(table: Map<number, ProcStat>, daemon: number, pgid: number): number[] {
  const children = childrenByParent(table);
  const members = new Set<number>([daemon]);
  for (const [pid, st] of table) if (st.pgrp === pgid) members.add(pid);
  const queue = [...members];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (!members.has(child)) {
        members.add(child);
        queue.push(child);
      }
    }
  }
  return [...members].sort((a, b) => a - b);
}

/** The command line as `ps -o args` shows it: argv joined by spaces (UTF-8), else [comm]. */
export function commandLine(pid: number, comm: string): string {
  try {
    const raw = Buffer.from(readProcText(`/proc/${pid}/cmdline`), 'latin1').toString('utf8');
    const args = raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
    if (args.length > 0) return args.join(' ');
  } catch {
    // Gone: fall back to the name from stat.
  }
  return `[${comm}]`;
}

interface Figures {
  cpu: Map<number, number>;
  memory: Map<number, number>;
}

/**
 * Nests `pids` by parent; roots are those whose parent is not among them (the daemon first). A
 * process of the service whose parent is not (it was re-parented to init or a subreaper) is shown
 * under the daemon.
 */
export function buildTree(daemon: number, pids: number[], stats: Map<number, ProcStat>, figures: Figures): TreeNode[] {
  const present = new Set(pids.filter((p) => stats.has(p)));
  const node = (pid: number): TreeNode => {
    const st = stats.get(pid)!;
    return {
      pid,
      ppid: st.ppid,
      pgid: st.pgrp,
      status: stateWord(st.state),
      cpu_percent: figures.cpu.get(pid) ?? 0,
      memory_percent: figures.memory.get(pid) ?? 0,
      command: commandLine(pid, st.comm),
      children: [...present].filter((c) => stats.get(c)!.ppid === pid).sort((a, b) => a - b).map(node),
    };
  };
  const roots = [...present].filter((p) => !present.has(stats.get(p)!.ppid));
  roots.sort((a, b) => (a === daemon ? -1 : b === daemon ? 1 : a - b));
  const nodes = roots.map(node);
  const top = nodes[0]?.pid === daemon ? nodes[0] : undefined;
  if (top === undefined) return nodes;
  top.children.push(...nodes.slice(1));
  top.children.sort((a, b) => a.pid - b.pid);
  return [top];
}

/**
 * One line per process, drawn by parent; `(own group)` marks a process outside the daemon's group,
 * `(re-parented)` one shown under the daemon whose parent is no longer of the service.
 * The command line is shown escaped (`--json --tree` has it exact).
 */
export function drawTree(roots: TreeNode[], pgid: number, width?: number): string[] {
  const lines: string[] = [];
  const walk = (n: TreeNode, lead: string, branch: string, parent?: number) => {
    const mark = (parent === undefined || n.ppid === parent ? '' : '(re-parented) ') + (n.pgid === pgid ? '' : '(own group) ');
    const text = `${lead}${branch}${n.pid} ${n.status} ${n.cpu_percent.toFixed(1)}% cpu ${n.memory_percent.toFixed(1)}% mem ${mark}${escapeForTerminal(n.command)}`;
    lines.push(width === undefined ? text : [...text].slice(0, width).join(''));
    const below = lead + (branch === '├─' ? '│ ' : branch === '└─' ? '  ' : '');
    n.children.forEach((c, i) => walk(c, below, i === n.children.length - 1 ? '└─' : '├─', n.pid));
  };
  for (const root of roots) walk(root, '', '');
  return lines;
}
