// sd_notify: the client (send KEY=VALUE lines to $NOTIFY_SOCKET) and a small server the detach
// engine binds so a daemon can say READY=1 to the `start` that is waiting for it. Node has no
// AF_UNIX datagram sockets, hence the native layer.
import { readlinkSync } from 'node:fs';
import { DaemonError } from '../base/errors.js';
import { warn } from '../base/log.js';
import { bindDatagram, closeFd, openFds, receiveDatagram, sendDatagram, shutdownSocket, waitReadable, type Datagram } from '../base/native.js';
import { isDescendantOf } from '../process/proc.js';

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
  // A timer holds at most 2^31-1 ms (a longer one fires after 1 ms: a flood of pings). Pinging
  // more often than half the interval is harmless.
  return Math.min(usec / 2000, MAX_TIMER_MS);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How many socket-activation fds (3, 4, ...) systemd passed to `pid`: LISTEN_FDS when LISTEN_PID
 * names it (sd_listen_fds(3)'s rule), else 0. A LISTEN_FDS for us that is not a decimal count is
 * an error, as sd_listen_fds makes it.
 */
export function activationCount(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number {
  if (env.LISTEN_PID !== String(pid) || env.LISTEN_FDS === undefined || env.LISTEN_FDS === '') return 0;
  if (!/^\d+$/.test(env.LISTEN_FDS)) {
    throw new DaemonError('bad-environment', `LISTEN_FDS=${env.LISTEN_FDS} is not a number of fds (socket activation)`);
  }
  return Number(env.LISTEN_FDS);
}

/**
 * The socket-activation fds when LISTEN_PID names `pid`; else none. Each must be open (as
 * sd_listen_fds(3), which fails on an fd it cannot mark) and not one of the runtime's own event
 * fds (epoll, eventfd: anonymous inodes), which take the lowest free numbers at startup and so sit
 * exactly where missing activation fds would be. (Close-on-exec tells nothing here: Node marks
 * the low inherited fds close-on-exec at startup.) Otherwise a DaemonError naming LISTEN_FDS,
 * never a spawn failing on a closed fd, nor a huge list.
 */
export function activationFds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number[] {
  const count = activationCount(env, pid);
  if (count === 0) return [];
  const open = new Set(openFds() ?? []);
  // At most open.size + 1 steps: a count beyond the open fds stops at the first missing one.
  for (let fd = 3; fd < 3 + count; fd++) {
    if (!open.has(fd) || isAnonymousInode(fd)) {
      throw new DaemonError(
        'bad-environment',
        `LISTEN_FDS=${env.LISTEN_FDS} names ${count === 1 ? 'fd 3' : `fds 3-${2 + count}`}, but fd ${fd} was not handed to this process (socket activation passes them open)`,
      );
    }
  }
  return Array.from({ length: count }, (_, i) => 3 + i);
}

function isAnonymousInode(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('anon_inode:');
  } catch {
    return true;
  }
}

export type NotifyFields = Record<string, string>;

function parseNotify(payload: Buffer): NotifyFields {
  const fields: NotifyFields = {};
  for (const line of payload.toString('utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** Datagrams read per turn of the event loop: a flood cannot starve timers and signal handlers. */
const PER_TURN = 64;
/** Distinct ignored senders warned about; past this, one line says further ones are not shown. */
const WARNED_SENDERS = 5;

/**
 * Who may notify: any process under this one (the daemon or `run`'s child, and what they start,
 * whatever user they become), or a process of a user named here (root, the caller, the `--user`
 * the command runs as) for a sender that is already gone. The socket's name is no secret (it is
 * in /proc/net/unix), so without this another user could say READY=1 for a daemon that is not.
 * The uid is checked first: it costs nothing, the ancestry walk reads /proc.
 */
function trustedSender(sender: Datagram, uids: number[]): boolean {
  if (sender.pid <= 0) return false;
  return uids.includes(sender.uid) || isDescendantOf(sender.pid, process.pid);
}

/**
 * A private notification socket, bound in the abstract namespace (nothing to clean up on disk).
 * Nothing a sender does can block it: the socket is non-blocking, a flood is read at most
 * PER_TURN datagrams per turn of the event loop, and close() never sends to it or waits on it.
 */
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

  /**
   * Calls onMessage for each datagram from a trusted sender until close(); warns once about each
   * other sender, for the first few of them.
   */
  listen(onMessage: (fields: NotifyFields) => void): void {
    const refused = new Refused();
    this.loop = (async () => {
      try {
        while (!this.closed) {
          // The poll runs on a worker thread: awaiting it is a turn of the event loop, so timers
          // and signal handlers run between one batch and the next. close() wakes it (shutdown).
          await waitReadable([this.fd], 60_000);
          // Within one batch (a moment: no pid is reused in it) a refused pid is not walked again.
          const refusedNow = new Set<number>();
          for (let n = 0; n < PER_TURN && !this.closed; n++) {
            const msg = receiveDatagram(this.fd);
            if (msg === undefined) break;
            // The sender is checked before its fds are closed: systemd-notify waits for its
            // barrier's fd to close, so until then it is alive, and its ancestry can be read.
            try {
              this.handle(msg, onMessage, refused, refusedNow);
            } finally {
              for (const fd of msg.fds) closeFd(fd);
            }
          }
        }
      } finally {
        closeFd(this.fd);
      }
    })();
  }

  private handle(msg: Datagram, onMessage: (fields: NotifyFields) => void, refused: Refused, refusedNow: Set<number>): void {
    if (refusedNow.has(msg.pid) || !trustedSender(msg, this.uids)) {
      refusedNow.add(msg.pid);
      refused.note(msg);
      return;
    }
    onMessage(parseNotify(msg.data));
  }

  /**
   * Stops listening at once: nothing more is read or handed on. Never sends to the socket (whose
   * queue a flood may hold full) and never waits on it: shutdown() wakes the poll, and the fd is
   * closed when the poll has let go of it. The promise resolves then (promptly).
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.loop === undefined) closeFd(this.fd);
      else shutdownSocket(this.fd);
    }
    return this.loop ?? Promise.resolve();
  }
}

/** The ignored senders of one socket: a WARNING for each of the first few, then one saying the rest are not shown. */
class Refused {
  private readonly warned = new Set<number>();
  private silent = false;

  note(msg: Datagram): void {
    if (this.silent || this.warned.has(msg.pid)) return;
    if (this.warned.size < WARNED_SENDERS) {
      this.warned.add(msg.pid);
      warn(`Ignored a notification from PID ${msg.pid} (uid ${msg.uid}): not the command or a process it started`);
    } else {
      this.silent = true;
      warn(`Ignored notifications from more than ${WARNED_SENDERS} senders; further ones are not shown`);
    }
  }
}
