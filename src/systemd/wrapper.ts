// `run` under systemd: READY=1 when the child is up, STATUS= lines, STOPPING=1, a relay for the
// child's own notifications (so NotifyAccess=main hears them from the main pid, the wrapper),
// socket-activation fds handed on with LISTEN_PID naming the child, WATCHDOG_USEC passed through.
import { warn } from '../base/log.js';
import { EAGAIN, sendDatagram } from '../base/native.js';
import { activationFds, NotifyServer, watchdogIntervalMs, type NotifyFields } from './notify.js';

/** Keys that carry fds or would move systemd's idea of the main pid: never relayed. */
const NOT_RELAYED = new Set(['MAINPID', 'BARRIER', 'FDSTORE', 'FDSTOREREMOVE', 'FDNAME', 'FDPOLL']);

export interface SystemdBridge {
  /** The child's environment: NOTIFY_SOCKET replaced or removed, LISTEN_* and WATCHDOG_* fixed. */
  childEnv: NodeJS.ProcessEnv;
  /** Socket-activation fds (3, 4, ...) the child must inherit at the same numbers. */
  listenFds: number[];
  /** Set LISTEN_PID to the child's own pid, which only exists once it runs (via `sh -c`). */
  needsListenPid: boolean;
  notify(message: string): void;
  close(): Promise<void>;
}

/** commandUid: the `--user` the child runs as, whose processes may notify besides the child's own tree. */
export function bridgeSystemd(env: NodeJS.ProcessEnv, relayChild: boolean, commandUid?: number): SystemdBridge {
  const socket = env.NOTIFY_SOCKET;
  const childEnv: NodeJS.ProcessEnv = { ...env };
  delete childEnv.NOTIFY_SOCKET;

  // Socket activation: ours when LISTEN_PID names us; the child gets them with its own pid.
  const listenFds = activationFds(env);
  if (listenFds.length === 0) {
    delete childEnv.LISTEN_PID;
    delete childEnv.LISTEN_FDS;
    delete childEnv.LISTEN_FDNAMES;
  }
  // The watchdog is the child's to feed (relayed with --notify); WATCHDOG_PID would name us.
  delete childEnv.WATCHDOG_PID;
  const watchdogMs = watchdogIntervalMs(env);
  if (socket && !relayChild && watchdogMs !== undefined) {
    warn(`systemd expects WATCHDOG=1 every ${(watchdogMs * 2) / 1000} s (WatchdogSec=), but without --notify the program has no notify socket to send it on`);
  }

  const up = upstream(socket);
  // With --notify the child's own messages, READY=1 included, are its readiness: relay them.
  let relay: NotifyServer | undefined;
  if (relayChild) {
    const server = NotifyServer.open(commandUid);
    if (typeof server === 'string') throw new Error(`cannot serve a notify socket for --notify: ${server}`);
    relay = server;
    childEnv.NOTIFY_SOCKET = server.address;
    server.listen((fields: NotifyFields) => {
      const lines = Object.entries(fields)
        .filter(([key]) => !NOT_RELAYED.has(key))
        .map(([key, value]) => `${key}=${value}`);
      if (lines.length > 0) up.send(lines.join('\n'));
    });
  }
  return {
    childEnv,
    listenFds,
    needsListenPid: listenFds.length > 0,
    notify: (message) => up.send(message),
    close: async () => {
      await relay?.close();
      up.close();
    },
  };
}

/** Messages held for a full upstream socket, at most; newer ones are dropped (with one WARNING). */
const BACKLOG = 256;
const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 200;

/**
 * Sends to systemd's NOTIFY_SOCKET in order, never waiting on it: while its queue is full (EAGAIN)
 * messages wait here and are retried on a timer, so neither the relay nor the wrapper's own
 * READY=1/STOPPING=1 can hang on a socket nobody reads. close() tries once more and drops the rest.
 */
function upstream(socket: string | undefined): { send(message: string): void; close(): void } {
  const backlog: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let delay = RETRY_FIRST_MS;
  let dropped = false;
  const flush = () => {
    timer = undefined;
    while (backlog.length > 0) {
      if (sendDatagram(socket!, Buffer.from(backlog[0]!)) === EAGAIN) {
        timer = setTimeout(flush, delay).unref();
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        return;
      }
      backlog.shift(); // sent, or failed for good (the socket is gone): not retried
    }
    delay = RETRY_FIRST_MS;
  };
  return {
    send(message) {
      if (!socket) return;
      if (backlog.length >= BACKLOG) {
        if (!dropped) warn("systemd's notify socket is not reading (NOTIFY_SOCKET); dropped a notification (further drops are not shown)");
        dropped = true;
        return;
      }
      backlog.push(message);
      if (timer === undefined) flush();
    },
    close() {
      clearTimeout(timer);
      if (backlog.length > 0) flush();
      clearTimeout(timer);
      backlog.length = 0;
    },
  };
}
