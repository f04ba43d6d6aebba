// `run`'s signal forwarding: every signal in FORWARDED goes to the child (or its group) at once,
// with nothing before the kill() on that path, as itself or as --rewrite says (dumb-init's
// --rewrite; `none` drops it). Sending TERM, INT or QUIT, or receiving one that is sent on as
// another signal, starts a stop: STOPPING=1 for systemd, and a warning (never a SIGKILL) when
// the child outlives --stop-timeout. Both speak of the signal actually sent.
// The handlers are installed before the child is spawned, as tini blocks its signals first: what
// arrives before the child's pid is known is kept, in order, and forwarded once it is (a TERM in
// that instant would otherwise meet Node's default action, or be dropped by a PID 1).
import { warn } from '../base/log.js';
import { FORWARDED, FROM_TERMINAL, STOPPING } from '../base/signals.js';
import type { Rewrite } from '../base/types.js';
import type { SystemdBridge } from '../systemd/wrapper.js';

interface ForwardingSpec {
  name: string;
  signalGroup: boolean;
  /** The wrapper holds a terminal: what it sends to its whole foreground job goes to CMD's whole group. */
  onTerminal: boolean;
  stopTimeout: number;
  rewrite: Rewrite[];
  systemd: SystemdBridge;
}

export interface Forwarding {
  /** The signals sent to the child so far (after rewriting). */
  readonly forwarded: ReadonlySet<NodeJS.Signals>;
  /** The child's pid is known: forwarding starts, with whatever arrived before. */
  attach(pid: number): void;
  /**
   * The child is gone and another may follow (--restart): until the next attach, a stop signal
   * (TERM, INT, QUIT, or one rewritten to them) is kept as `stopRequested`, and forwarded to a
   * child attached after it (one already being spawned); the rest are dropped.
   */
  detach(): void;
  /** The signal (as received) that started a stop, forwarded or not: no restart answers it. */
  readonly stopRequested: NodeJS.Signals | undefined;
  /** Calls back once with the stop's signal (at once when there is one already); returns an unsubscribe. */
  onStop(callback: (sig: NodeJS.Signals) => void): () => void;
  stop(): void;
}

export function forwardSignals(spec: ForwardingSpec): Forwarding {
  let pid = 0;
  let between = false;
  let stopRequested: NodeJS.Signals | undefined;
  const stopListeners = new Set<(sig: NodeJS.Signals) => void>();
  const noteStop = (sig: NodeJS.Signals) => {
    if (stopRequested !== undefined) return;
    stopRequested = sig;
    for (const listener of stopListeners) listener(sig);
    stopListeners.clear();
  };
  const pending: NodeJS.Signals[] = [];
  const targetOf = (sig: string) => (spec.signalGroup || (spec.onTerminal && FROM_TERMINAL.has(sig)) ? -pid : pid);
  const forwarded = new Set<NodeJS.Signals>();
  let stopTimer: NodeJS.Timeout | undefined;
  const startStop = (sig: NodeJS.Signals) => {
    spec.systemd.notify(`STOPPING=1\nSTATUS=Stopping ${spec.name}: ${sig} sent to PID ${pid}`);
    stopTimer ??= setTimeout(() => {
      warn(`${spec.name} (PID ${pid}) did not exit ${spec.stopTimeout} s after ${sig}; still waiting (no SIGKILL is sent)`);
    }, spec.stopTimeout * 1000);
  };
  const sentAs = new Map<NodeJS.Signals, NodeJS.Signals | null>(spec.rewrite.map((r) => [r.from, r.to]));
  const handlers = FORWARDED.map((sig) => {
    const to = sentAs.has(sig) ? sentAs.get(sig)! : sig;
    const handler = () => {
      const stops = to !== null && (STOPPING.has(sig) || STOPPING.has(to));
      if (pid === 0) {
        // Between children only a stop counts; kept too, for a child being spawned right now.
        if (stops) noteStop(sig);
        if (!between || stops) pending.push(sig);
        return;
      }
      if (stops) noteStop(sig);
      if (to === null) return;
      try {
        process.kill(targetOf(sig), to);
      } catch {
        // The child is already gone; its exit is on its way.
      }
      forwarded.add(to);
      if (STOPPING.has(sig) || STOPPING.has(to)) startStop(to);
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  const byName = new Map<NodeJS.Signals, () => void>(handlers);
  return {
    forwarded,
    get stopRequested() {
      return stopRequested;
    },
    onStop: (callback) => {
      if (stopRequested !== undefined) {
        callback(stopRequested);
        return () => {};
      }
      stopListeners.add(callback);
      return () => stopListeners.delete(callback);
    },
    detach: () => {
      pid = 0;
      between = true;
    },
    attach: (child) => {
      pid = child;
      between = false;
      warmUp(pid);
      for (const sig of pending.splice(0)) byName.get(sig)!();
    },
    stop: () => {
      clearTimeout(stopTimer);
      for (const [sig, handler] of handlers) process.removeListener(sig, handler);
    },
  };
}

/**
 * The first signal would otherwise pay for compiling the path it takes (Node's signal dispatch,
 * process.kill): take it once now, harmlessly. kill(pid, 0) only checks the child exists; SIGURG
 * (ignored by default, never forwarded) goes to this process, to a listener that removes itself.
 */
function warmUp(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch {
    // Gone already: its exit is on its way.
  }
  const done = () => process.removeListener('SIGURG', done);
  process.on('SIGURG', done);
  process.kill(process.pid, 'SIGURG');
}
