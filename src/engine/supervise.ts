// `run --restart`: the foreground engine kept in front of a command that is started again when it
// exits, as systemd's Restart= does, without a daemon of daemons. The wrapper stays the same
// process (systemd and a container runtime keep their child); signals go to the current child;
// orphans are reaped as in plain `run`. Between children a stop (TERM, INT, QUIT) ends the wait and
// the service; nothing a stop caused is answered with a restart.
import { error, warn } from '../base/log.js';
import { exitCodeFor } from '../base/signals.js';
import type { RestartPolicy } from '../base/types.js';
import {
  announceReadiness,
  exitStatus,
  leaveCallersDirectory,
  prepareForeground,
  spawnChild,
  waitForExit,
  type Death,
  type ForegroundEnd,
  type ForegroundSpec,
} from './foreground.js';
import type { Forwarding } from './forwarding.js';
import { endLeftovers } from './leftovers.js';
import { followJobControl } from './job-control.js';
import { startReaping } from './reaper.js';

export interface SupervisedSpec extends ForegroundSpec {
  restart: RestartPolicy;
}

export async function superviseForeground(spec: SupervisedSpec): Promise<ForegroundEnd> {
  const { command, reaping, systemd, ownSession, forwarding, service, env } = prepareForeground(spec);
  const schedule = restartSchedule(spec.restart);
  let commandDir: string | undefined;
  const readiness = { told: false };
  let stopReaping = () => {};
  try {
    for (let start = 1; ; start++) {
      // Not reaping while a child is spawned: its pid is libuv's to wait for from the first instant.
      stopReaping();
      const child = await spawnChild(spec, command, systemd, ownSession, env);
      const pid = child.pid!;
      const startedAt = Date.now();
      schedule.started(startedAt);
      forwarding.attach(pid);
      commandDir ??= leaveCallersDirectory(spec);
      stopReaping = reaping ? startReaping((p) => p === pid) : () => {};
      const stopFollowing = ownSession && process.pid !== 1 ? followJobControl(-pid) : () => {};
      const stopAnnouncing = announceReadiness(spec, child, systemd, commandDir, readiness);

      const death = await waitForExit(child, forwarding, spec.rewrite);
      stopAnnouncing();
      stopFollowing();
      forwarding.detach();
      await endLeftovers(spec, service, pid);
      const end = exitStatus(death, forwarding.forwarded);
      if (forwarding.stopRequested !== undefined || !restartsAfter(spec.restart, death)) return end;

      const next = schedule.next(Date.now(), Date.now() - startedAt);
      if (next.giveUp) {
        error(`${spec.name} failed: ${next.starts} starts in ${spec.restart.limit.seconds} s, last exit ${death.signal ?? `code ${death.code}`}; not starting it again`);
        return end;
      }
      warn(`${spec.name} (PID ${pid}) ${exitWords(death)}; starting it again in ${next.delay} s (restart ${start})`);
      systemd.notify(`STATUS=restarting ${spec.name} (attempt ${start + 1}, next in ${next.delay} s)`);
      const stop = await stopOr(forwarding, next.delay);
      if (stop !== undefined) return endedByStop(stop);
    }
  } finally {
    forwarding.stop();
    stopReaping();
    await systemd.close();
  }
}

/** on-failure: a non-zero exit, or death by a signal (a stop's was ruled out before); always: any. */
function restartsAfter(policy: RestartPolicy, death: Death): boolean {
  if (policy.when === 'always') return true;
  return policy.when === 'on-failure' && (death.signal !== null || death.code !== 0);
}

function exitWords({ code, signal }: Death): string {
  return signal !== null ? `died of ${signal}` : `exited with code ${code}`;
}

/**
 * The waits between children: `delay` first, doubled after each restart up to `maxDelay`, back to
 * `delay` once a child stayed up `reset` seconds; and the give-up point: a start that would be the
 * (limit.starts + 1)th within limit.seconds is not made.
 */
function restartSchedule(policy: RestartPolicy) {
  const starts: number[] = [];
  let delay = policy.delay;
  return {
    started: (at: number) => starts.push(at),
    next(now: number, upMs: number): { giveUp: true; starts: number } | { giveUp: false; delay: number } {
      if (upMs >= policy.reset * 1000) delay = policy.delay;
      const wait = Math.min(delay, policy.maxDelay);
      const at = now + wait * 1000;
      // Only the starts inside the window are kept: a long-lived supervisor holds no history.
      while (starts.length > 0 && starts[0]! <= at - policy.limit.seconds * 1000) starts.shift();
      if (starts.length >= policy.limit.starts) return { giveUp: true, starts: starts.length };
      delay = Math.min(delay * 2, policy.maxDelay);
      return { giveUp: false, delay: round(wait) };
    },
  };
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** Waits `seconds`, unless a stop arrives first: then resolves with its signal. */
function stopOr(forwarding: Forwarding, seconds: number): Promise<NodeJS.Signals | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve(undefined);
    }, seconds * 1000);
    const unsubscribe = forwarding.onStop((sig) => {
      clearTimeout(timer);
      resolve(sig);
    });
  });
}

/**
 * Stopped while no child ran: the wrapper ends as a stopped `run` does, dying of the signal (so
 * systemd records a clean stop) or, as PID 1, exiting 128+n.
 */
function endedByStop(sig: NodeJS.Signals): ForegroundEnd {
  if (process.pid !== 1) return { reraise: sig };
  return { exitCode: exitCodeFor(sig) };
}
