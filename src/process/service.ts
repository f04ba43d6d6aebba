// The whole service: every process that descends from a daemon, not only the one pid the pid file
// names. A child that called setsid, was re-parented to init or double-forked is still the
// service's (systemd's control group and a container's pid namespace see it the same way).
//
// A process belongs to the service when one of these holds, read from one pass over /proc:
//   - it descends (by parent, now) from the daemon or from another member: the kernel keeps that
//     chain, nobody can forge it;
//   - it is in the daemon's session while the daemon lives and that session holds nothing older
//     than the daemon (the detached daemon's session: its leader forked the daemon and left, and a
//     session can be entered only by being forked inside it; a session id cannot be reused while
//     any process still carries it);
//   - it carries the daemon's marker, DAEMONOCLE_SERVICE=<pid>-<start time> (set by `start` and
//     `run` before the command runs, inherited by every descendant), in /proc/PID/environ, started
//     no earlier than the daemon, and runs as one trusted uid (all four of real, effective, saved
//     and filesystem uid): root, the caller, or the daemon's own user, the owners a pid file is
//     trusted from. A forged marker in another user's process, or in a setuid program someone else
//     started, is never believed.
// Never a member: PID 1, kernel threads, the caller, its ancestors and its process group.
// The documented gap: a process that scrubbed its environment *and* left the session after the
// daemon died (or running as another user than those above) is not provably of the service.
//
// A member is remembered by pid *and* start time, and re-checked through a pidfd right before a
// signal: a pid reused meanwhile is never signalled.
import { closeSync } from 'node:fs';
import { pidfdOpen, pidfdSendSignal } from '../base/native.js';
import { escapeForTerminal } from '../base/log.js';
import { childrenByParent, isGone, processTable, readProcText, readStat, scanProcesses, selfAndAncestors, type ProcStat } from './proc.js';
import { commandLine } from './tree.js';

/** The environment variable every process of a service inherits. */
export const SERVICE_ENV = 'DAEMONOCLE_SERVICE';

/** A service is named by its daemon: the pid and start time the pid file records. */
export interface ServiceId {
  pid: number;
  startTime: number;
}

/** How a service's processes are found: the only form so far (see docs/RELIABILITY.md). */
export const TRACKING = 'marker';

export interface Member {
  pid: number;
  stat: ProcStat;
}

/** The marker's value for a daemon: `<pid>-<start time in clock ticks since boot>`. */
export const serviceMarker = (id: ServiceId): string => `${id.pid}-${id.startTime}`;

/**
 * The marker a command started by the process `id` inherits. `run` adds its own to one it was
 * given (its command is still part of the service that started it); `start` begins a new service.
 */
export function markerFor(id: ServiceId, inherited?: string): string {
  const own = serviceMarker(id);
  if (inherited === undefined || inherited === '') return own;
  return [...inherited.split(',').filter((m) => m !== own && /^\d+-\d+$/.test(m)), own].join(',');
}

/** This process as a service id (for `run` and the library in front). */
export function ownServiceId(): ServiceId | undefined {
  const st = readStat(process.pid);
  return st === null ? undefined : { pid: process.pid, startTime: st.startTime };
}

/** The four uids of a process (real, effective, saved, filesystem), or undefined when gone. */
function uidsOf(pid: number): number[] | undefined {
  try {
    const m = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(readProcText(`/proc/${pid}/status`));
    return m ? m.slice(1, 5).map(Number) : undefined;
  } catch {
    return undefined;
  }
}

/** The real uid of a process, or undefined when gone. */
export const realUidOf = (pid: number): number | undefined => uidsOf(pid)?.[0];

/** What is read of a process, once per pass over /proc (`list` asks for many services at a time). */
interface Facts {
  uids?: number[] | undefined;
  markers?: string[];
}
const factsOfPass = new WeakMap<Map<number, ProcStat>, Map<number, Facts>>();

function factsOf(table: Map<number, ProcStat>, pid: number): Facts {
  let pass = factsOfPass.get(table);
  if (pass === undefined) factsOfPass.set(table, (pass = new Map()));
  let facts = pass.get(pid);
  if (facts === undefined) pass.set(pid, (facts = {}));
  return facts;
}

/** Whether pid runs as one trusted uid throughout. */
function runsAsTrusted(facts: Facts, pid: number, trusted: ReadonlySet<number>): boolean {
  if (!('uids' in facts)) facts.uids = uidsOf(pid);
  const uids = facts.uids;
  return uids !== undefined && uids.every((u) => u === uids[0]) && trusted.has(uids[0]!);
}

/** The service markers in a process's environment (unreadable: none). */
function markersOf(facts: Facts, pid: number): string[] {
  if (facts.markers === undefined) facts.markers = readMarkers(pid);
  return facts.markers;
}

function readMarkers(pid: number): string[] {
  let environ: string;
  try {
    environ = readProcText(`/proc/${pid}/environ`);
  } catch {
    return [];
  }
  const name = `\0${SERVICE_ENV}=`;
  const at = `\0${environ}`.indexOf(name);
  if (at < 0) return [];
  const start = at + name.length - 1;
  const end = environ.indexOf('\0', start);
  return environ.slice(start, end < 0 ? undefined : end).split(',');
}

export interface FindOptions {
  /** uids whose processes a marker is believed from (the daemon's own is added while it lives). */
  trusted: ReadonlySet<number>;
  /** A process table already read (status and list read one for everything). */
  table?: Map<number, ProcStat>;
  /** Use the daemon's session as evidence (not for `run`, whose session is its caller's). */
  session?: boolean;
  /** `run` looks for what its own command left, in its own process group too. */
  inOwnGroup?: boolean;
  /** The daemon's own children count (not for `run`, whose probes are its children too). */
  fromDaemon?: boolean;
}

/**
 * Every live process of the service but the daemon itself, in pid order. The daemon may be gone:
 * then its members are found by their marker and, below them, by descent.
 */
export function findMembers(id: ServiceId, opts: FindOptions): Member[] {
  const table = opts.table ?? processTable();
  const daemon = table.get(id.pid);
  const alive = daemon !== undefined && daemon.startTime === id.startTime;
  const never = selfAndAncestors();
  const ownGroup = readStat(process.pid)?.pgrp;
  const excluded = (st: ProcStat) =>
    st.pid <= 2 || st.ppid === 2 || st.pid === id.pid || never.has(st.pid) || (st.pgrp === ownGroup && !opts.inOwnGroup);

  const trusted = new Set(opts.trusted);
  if (alive) {
    const uid = realUidOf(id.pid);
    if (uid !== undefined) trusted.add(uid);
  }
  const sessionCounts = alive && opts.session !== false && freshSession(table, daemon, id.startTime);
  const marker = serviceMarker(id);
  const members = new Map<number, ProcStat>();
  for (const st of table.values()) {
    if (excluded(st) || st.startTime < id.startTime) continue;
    const facts = factsOf(table, st.pid);
    if ((sessionCounts && st.session === daemon!.session) || (runsAsTrusted(facts, st.pid, trusted) && markersOf(facts, st.pid).includes(marker))) {
      members.set(st.pid, st);
    }
  }
  // Below the daemon and every member: their descendants, whoever they run as.
  const children = childrenByParent(table);
  const queue = [...(alive && opts.fromDaemon !== false ? [id.pid] : []), ...members.keys()];
  while (queue.length > 0) {
    for (const pid of children.get(queue.shift()!) ?? []) {
      const child = table.get(pid)!;
      if (members.has(pid) || excluded(child)) continue;
      members.set(pid, child);
      queue.push(pid);
    }
  }
  return [...members.values()].sort((a, b) => a.pid - b.pid).map((stat) => ({ pid: stat.pid, stat }));
}

/** The daemon's session is evidence only when nothing in it is older than the daemon. */
function freshSession(table: Map<number, ProcStat>, daemon: ProcStat, startTime: number): boolean {
  if (daemon.session <= 1 || daemon.session === readStat(process.pid)?.session) return false;
  for (const st of table.values()) if (st.session === daemon.session && st.startTime < startTime) return false;
  return true;
}

/**
 * Sends signal to a member, only if it is still the process found (same pid, same start time),
 * checked through a pidfd that pins it. False when it is gone, changed, or may not be signalled.
 */
export function signalMember(m: Member, signal: number): boolean {
  const fd = pidfdOpen(m.pid);
  try {
    if (!stillRuns(m)) return false;
    if (fd >= 0 && pidfdSendSignal(fd, signal) === 0) return true;
    if (fd >= 0) return false;
    process.kill(m.pid, signal);
    return true;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Whether a member found earlier still runs (same pid and start time, not a zombie). */
export function stillRuns(m: Member): boolean {
  const now = readStat(m.pid);
  return now !== null && !isGone(now) && now.startTime === m.stat.startTime;
}

const key = (m: Member) => `${m.pid}-${m.stat.startTime}`;

/**
 * Ends what is left of a service once its daemon is gone: signal to every member, then again to
 * each one that appears (a member forking while it is stopped), until none is left or the time is
 * up. Every member gets the signal once. Resolves to the members still running at the end.
 */
export async function endMembers(id: ServiceId, opts: FindOptions, signal: number, timeoutMs: number): Promise<Member[]> {
  const deadline = Date.now() + timeoutMs;
  const signalled = new Set<string>();
  let slice = 10;
  for (let emptyPasses = 0; ; ) {
    const { table, clean } = scanProcesses();
    const members = findMembers(id, { ...opts, table });
    for (const m of members) {
      if (signalled.has(key(m))) continue;
      signalled.add(key(m));
      signalMember(m, signal);
    }
    // A member that forked and exited while /proc was read leaves a child the pass missed: done
    // only after a pass in which nothing vanished (or, on a busy machine, a few empty ones).
    if (members.length === 0 && (clean || ++emptyPasses >= 5)) return [];
    if (members.length > 0) emptyPasses = 0;
    const left = deadline - Date.now();
    if (left <= 0) return members.filter(stillRuns);
    if (members.length > 0) await waitAnyChange(members, Math.min(slice, left));
    slice = Math.min(slice * 2, 200);
  }
}

/** Waits until every member is gone or ms pass (short slices: a scan may find new ones). */
async function waitAnyChange(members: Member[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  let delay = 2;
  while (Date.now() < until && members.some(stillRuns)) {
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, until - Date.now()))));
    delay = Math.min(delay * 2, 25);
  }
}

/** How survivors are named to a person: `4242 (sleep 1000), 4250 (sh -c ...)`, the first ten. */
export function describeMembers(members: Member[]): string {
  const shown = members.slice(0, 10).map((m) => {
    const cmd = commandLine(m.pid, m.stat.comm);
    return `${m.pid} (${escapeForTerminal(cmd.length > 60 ? `${cmd.slice(0, 57)}...` : cmd)})`;
  });
  const more = members.length > 10 ? ` and ${members.length - 10} more` : '';
  return shown.join(', ') + more;
}
