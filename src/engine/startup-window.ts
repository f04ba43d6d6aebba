// Watching a freshly launched daemon through its startup window: its pid from the session
// leader's pipe, then its death (waitpid as a child subreaper, else /proc) or readiness.
import { waitPidNoHang } from '../base/native.js';
import { isGone, readStat } from '../process/proc.js';
import { signalName } from '../base/signals.js';

export function readPid(stream: NodeJS.ReadableStream | null): Promise<number | undefined> {
  if (!stream) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    const done = () => {
      const m = /^(\d+)\n/.exec(text);
      resolve(m ? Number(m[1]) : undefined);
    };
    stream.on('end', done);
    stream.on('error', done);
  });
}

export type WindowResult = 'ready' | 'window-over' | { death: string };

/** What a look at the daemon finds: a death's description, 'alive', or 'unknown' (gone, but not our child to wait for). */
type Look = { death: string } | 'alive' | 'unknown';

/** One look at the daemon: waitpid when we are its subreaper (the exit status), else /proc. */
function look(pid: number, subreaping: boolean): Look {
  if (subreaping) {
    const r = waitPidNoHang(pid);
    if (r.state === 'exited') return { death: `exited during startup with exit code ${r.code}` };
    if (r.state === 'killed') return { death: `was killed during startup by ${signalName(r.signal)}` };
    if (r.state === 'running') return 'alive';
  }
  return isGone(readStat(pid)) ? 'unknown' : 'alive';
}

/** A death seen inside the window: with waitpid, the one it reports; without, any disappearance. */
function deathInWindow(seen: Look, subreaping: boolean): WindowResult | undefined {
  if (typeof seen === 'object') return seen;
  return seen === 'unknown' && !subreaping ? { death: 'exited during startup' } : undefined;
}

/** READY=1 counts only from a daemon that is still alive when we look. */
function onReady(seen: Look): WindowResult | undefined {
  if (seen === 'alive') return 'ready';
  return seen === 'unknown' ? undefined : seen;
}

/**
 * At the window's end: 'window-over' for a daemon alive. One that died while the session leader
 * still parented it is handed to us only once the leader has exited, so an 'unknown' looks again then.
 */
async function atWindowEnd(pid: number, subreaping: boolean, leaderExit: Promise<void>): Promise<WindowResult> {
  let seen = look(pid, subreaping);
  if (seen === 'unknown') {
    await leaderExit;
    seen = look(pid, subreaping);
  }
  if (seen === 'alive') return 'window-over';
  return seen === 'unknown' ? { death: 'exited during startup' } : seen;
}

/**
 * Watches the daemon until the window ends ('window-over'), it says READY=1 ('ready'), or it dies:
 * { death: "exited during startup with exit code N" | "was killed during startup by SIGNAME" }.
 * It looks on every SIGCHLD (and every 20 ms where it cannot waitpid), when `ready` resolves, and
 * at the window's end; the first answer wins.
 */
export function watchStartupWindow(
  pid: number,
  windowMs: number,
  subreaping: boolean,
  leaderExit: Promise<void>,
  ready: Promise<void> | undefined,
): Promise<WindowResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: WindowResult | undefined) => {
      if (settled || result === undefined) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poller);
      process.removeListener('SIGCHLD', check);
      resolve(result);
    };
    const check = () => finish(deathInWindow(look(pid, subreaping), subreaping));
    process.on('SIGCHLD', check);
    const poller = subreaping ? undefined : setInterval(check, 20);
    ready?.then(() => finish(onReady(look(pid, subreaping))));
    const timer = setTimeout(() => void atWindowEnd(pid, subreaping, leaderExit).then(finish), windowMs);
    check();
  });
}
