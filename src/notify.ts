// sd_notify: the client (send KEY=VALUE lines to $NOTIFY_SOCKET) and a small server the detach
// engine binds so a daemon can say READY=1 to the `start` that is waiting for it. Node has no
// AF_UNIX datagram sockets, hence the native layer.
import { warn } from './log.js';
import { bindDatagram, closeFd, receiveDatagram, sendDatagram, waitReadable, type Datagram } from './native.js';
import { isDescendantOf } from './proc.js';

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

/**
 * Who may notify: any process under this one (the daemon or `run`'s child, and what they start,
 * whatever user they become), or a process of a user named here (root, the caller, the `--user`
 * the command runs as) for a sender that is already gone. The socket's name is no secret (it is
 * in /proc/net/unix), so without this another user could say READY=1 for a daemon that is not.
 */
function trustedSender(sender: Datagram, uids: number[]): boolean {
  if (sender.pid <= 0) return false;
  return isDescendantOf(sender.pid, process.pid) || uids.includes(sender.uid);
}

/** A private notification socket, bound in the abstract namespace (nothing to clean up on disk). */
export class NotifyServer {
  readonly address: string;
  private readonly fd: number;
  private readonly uids: number[];
  private closed = false;
  private loop: Promise<void> | undefined;

  private constructor(address: string, fd: number, uids: number[]) {
    this.address = address;
    this.fd = fd;
    this.uids = uids;
  }

  /**
   * Undefined (with the reason) where native sockets are unavailable. `commandUid`: the uid the
   * command is made to run as (`--user`), trusted besides root and this process's own.
   */
  static open(commandUid?: number): NotifyServer | string {
    // Unique (pid) and hard to guess ahead, so a planted name cannot block the bind. Not a secret:
    // /proc/net/unix lists it, so senders are checked by their credentials (receiveDatagram).
    // Math.random, not node:crypto, which would cost every start about 4 ms to load.
    const address = `@daemonocle/${process.pid}/${Math.random().toString(36).slice(2, 12)}`;
    const { fd, error } = bindDatagram(address);
    const uids = [0, process.geteuid?.() ?? 0, ...(commandUid === undefined ? [] : [commandUid])];
    return fd < 0 ? (error ?? 'cannot bind a notify socket') : new NotifyServer(address, fd, uids);
  }

  /** Calls onMessage for each datagram from a trusted sender until close(); warns once about each other sender. */
  listen(onMessage: (fields: NotifyFields) => void): void {
    const refused = new Set<number>();
    this.loop = (async () => {
      while (!this.closed) {
        await waitReadable([this.fd], 60_000);
        for (let msg = receiveDatagram(this.fd); msg !== undefined; msg = receiveDatagram(this.fd)) {
          // The sender is checked before its fds are closed: systemd-notify waits for its
          // barrier's fd to close, so until then it is alive, and its ancestry can be read.
          if (!this.closed) this.handle(msg, onMessage, refused);
          for (const fd of msg.fds) closeFd(fd);
        }
      }
    })();
  }

  private handle(msg: Datagram, onMessage: (fields: NotifyFields) => void, refused: Set<number>): void {
    if (!trustedSender(msg, this.uids)) {
      if (!refused.has(msg.pid)) warn(`Ignored a notification from PID ${msg.pid} (uid ${msg.uid}): not the command or a process it started`);
      refused.add(msg.pid);
      return;
    }
    const fields = parseNotify(msg.data);
    if (fields.X_DAEMONOCLE_WAKE === undefined) onMessage(fields);
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
