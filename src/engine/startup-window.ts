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

type WindowResult = 'ready' | 'window-over' | { death: string };

/**
 * Watches the daemon until the window ends ('window-over'), it says READY=1 ('ready'), or it dies:
 * { death: "exited during startup with exit code N" | "was killed during startup by SIGNAME" }.
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
    let timer: NodeJS.Timeout | undefined;
    let poller: NodeJS.Timeout | undefined;
    const finish = (result: WindowResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poller);
      process.removeListener('SIGCHLD', check);
      resolve(result);
    };
    // A death description, 'alive', or 'unknown' (gone, but not our child to wait for).
    const probe = (): string => {
      if (subreaping) {
        const r = waitPidNoHang(pid);
        if (r.state === 'exited') return `exited during startup with exit code ${r.code}`;
        if (r.state === 'killed') return `was killed during startup by ${signalName(r.signal)}`;
        if (r.state === 'running') return 'alive';
      }
      return isGone(readStat(pid)) ? 'unknown' : 'alive';
    };
    function check(): void {
      const r = probe();
      if (r !== 'alive' && r !== 'unknown') finish({ death: r });
      else if (r === 'unknown' && !subreaping) finish({ death: 'exited during startup' });
    }
    process.on('SIGCHLD', check);
    if (!subreaping) poller = setInterval(check, 20);
    // READY=1 counts only from a daemon that is still alive when we look.
    ready?.then(() => {
      const r = probe();
      if (r === 'alive') finish('ready');
      else if (r !== 'unknown') finish({ death: r });
    });
    timer = setTimeout(async () => {
      // At the window's end, a daemon that died while the session leader still parented it is
      // handed to us only once the leader has exited.
      let r = probe();
      if (r === 'unknown') {
        await leaderExit;
        r = probe();
      }
      finish(r === 'alive' ? 'window-over' : { death: r === 'unknown' ? 'exited during startup' : r });
    }, windowMs);
    check();
  });
}
