// sd_notify: the client (send KEY=VALUE lines to $NOTIFY_SOCKET) and a small server the detach
// engine binds so a daemon can say READY=1 to the `start` that is waiting for it. Node has no
// AF_UNIX datagram sockets, hence the native layer.
import { randomBytes } from 'node:crypto';
import { bindDatagram, closeFd, receiveDatagram, sendDatagram, waitReadable } from './native.js';

/** Sends one notification (e.g. "READY=1\nSTATUS=up"). False when there is no socket or it failed. */
export function sdNotify(message: string, socket: string | undefined = process.env.NOTIFY_SOCKET): boolean {
  if (!socket) return false;
  return sendDatagram(socket, Buffer.from(message)) === 0;
}

/**
 * How often to send WATCHDOG=1 (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), when
 * systemd expects it from this process: undefined when no watchdog is set or WATCHDOG_PID names
 * another process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec / 2000;
}

/** Socket-activation fds (3, 4, ...; LISTEN_FDS of them) when LISTEN_PID names `pid`; else none. */
export function activationFds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number[] {
  const count = Number(env.LISTEN_FDS);
  if (env.LISTEN_PID !== String(pid) || !Number.isInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => 3 + i);
}

export type NotifyFields = Record<string, string>;

export function parseNotify(payload: Buffer): NotifyFields {
  const fields: NotifyFields = {};
  for (const line of payload.toString('utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

const WAKE = 'X_DAEMONOCLE_WAKE=1';

/** A private notification socket, bound in the abstract namespace (nothing to clean up on disk). */
export class NotifyServer {
  readonly address: string;
  private readonly fd: number;
  private closed = false;
  private loop: Promise<void> | undefined;

  private constructor(address: string, fd: number) {
    this.address = address;
    this.fd = fd;
  }

  /** Undefined (with the reason) where native sockets are unavailable. */
  static open(): NotifyServer | string {
    const address = `@daemonocle/${process.pid}/${randomBytes(6).toString('hex')}`;
    const { fd, error } = bindDatagram(address);
    return fd < 0 ? (error ?? 'cannot bind a notify socket') : new NotifyServer(address, fd);
  }

  /** Calls onMessage for each datagram until close(). */
  listen(onMessage: (fields: NotifyFields) => void): void {
    this.loop = (async () => {
      while (!this.closed) {
        await waitReadable([this.fd], 60_000);
        for (let msg = receiveDatagram(this.fd); msg !== undefined; msg = receiveDatagram(this.fd)) {
          const fields = parseNotify(msg);
          if (!this.closed && fields.X_DAEMONOCLE_WAKE === undefined) onMessage(fields);
        }
      }
    })();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Wake the poll waiting on a worker thread, so the event loop is free to end.
    sendDatagram(this.address, Buffer.from(WAKE));
    await this.loop;
    closeFd(this.fd);
  }
}
