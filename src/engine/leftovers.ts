// What `run`'s command leaves behind when it exits: every process of its service (the marker
// `run` gave it, and their descendants; src/process/service.ts) still running. They are named in a
// WARNING; with --signal-group (as dumb-init in its setsid mode) or --subreaper they first get the
// forwarded TERM (as --rewrite says) and up to --stop-timeout to end. Never a SIGKILL. As PID 1
// nothing is done: the pid namespace ends with the wrapper.
import { callerUid } from '../base/safe-path.js';
import { warn } from '../base/log.js';
import { signalNumber } from '../base/signals.js';
import { processTable } from '../process/proc.js';
import { describeMembers, endMembers, findMembers, markerFor, ownServiceId, SERVICE_ENV, type FindOptions, type ServiceId } from '../process/service.js';
import type { Rewrite } from '../base/types.js';

export interface LeftoverSpec {
  name: string;
  signalGroup: boolean;
  subreaper: boolean;
  stopTimeout: number;
  rewrite: Rewrite[];
  /** --user: the command's processes run as it. */
  credentials: { uid: number | undefined };
}

/** The service `run` is: the wrapper itself (the process a `run --pid-file` names). */
export const wrapperService = (): ServiceId | undefined => ownServiceId();

/** The command's environment with the wrapper's marker added to any it inherited. */
export function withServiceMarker(env: NodeJS.ProcessEnv, id: ServiceId | undefined): NodeJS.ProcessEnv {
  return id === undefined ? env : { ...env, [SERVICE_ENV]: markerFor(id, env[SERVICE_ENV]) };
}

/**
 * Processes of the command's service other than the wrapper: its session and its own children are
 * not evidence (the session is its caller's; a probe is its own child), the marker is.
 */
const leftoverSearch = (uid: number | undefined): FindOptions => ({
  trusted: new Set([0, callerUid(), ...(uid === undefined ? [] : [uid])]),
  session: false,
  inOwnGroup: true,
  fromDaemon: false,
});

const processes = (n: number) => `${n} ${n === 1 ? 'process' : 'processes'}`;

/** Once the command exited: what it left, named, and with --signal-group or --subreaper ended. */
export async function endLeftovers(spec: LeftoverSpec, id: ServiceId | undefined, pgid: number): Promise<void> {
  if (id === undefined || process.pid === 1) return;
  const search = leftoverSearch(spec.credentials.uid);
  const left = findMembers(id, search);
  // With --signal-group the command's process group too (a member may have scrubbed its environment).
  const inGroup = () => (spec.signalGroup ? [...processTable().values()].filter((st) => st.pgrp === pgid).map((st) => st.pid) : []);
  if (left.length === 0 && inGroup().length === 0) return;
  if (!spec.signalGroup && !spec.subreaper) {
    warn(`${processes(left.length)} left by the command ${left.length === 1 ? 'is' : 'are'} still running: ${describeMembers(left)}`);
    return;
  }
  const rewritten = [...spec.rewrite].reverse().find((r) => r.from === 'SIGTERM');
  const sig = rewritten === undefined ? 'SIGTERM' : rewritten.to;
  if (sig === null) {
    warn(`${processes(left.length)} left by the command ${left.length === 1 ? 'is' : 'are'} still running: ${describeMembers(left)}`);
    return;
  }
  if (spec.signalGroup) {
    try {
      process.kill(-pgid, sig);
    } catch {
      // The group emptied meanwhile.
    }
  }
  const deadline = Date.now() + spec.stopTimeout * 1000;
  const survivors = (await endMembers(id, search, signalNumber(sig) ?? 15, spec.stopTimeout * 1000)).map((m) => m.pid);
  let group = inGroup();
  for (let delay = 5; group.length > 0 && Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(1, deadline - Date.now()))));
    group = inGroup();
  }
  const still = [...new Set([...survivors, ...group])].sort((a, b) => a - b);
  if (still.length > 0) {
    const pids = still.join(', ');
    warn(`${spec.name}: ${processes(still.length)} left by the command still run ${spec.stopTimeout} s after ${sig}: PID ${pids}; left running (no SIGKILL is sent)`);
  }
}
