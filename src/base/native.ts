// The libc calls Node lacks, through koffi. Loaded lazily: only actions that need them pay for it.
// Every helper degrades to a clear "unavailable" answer where koffi or the call cannot load.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Libc {
  prctl: (option: number, a: number, b: number, c: number, d: number) => number;
  prctlGetInt: (option: number, value: number[], b: number, c: number, d: number) => number;
  waitpid: (pid: number, status: number[], options: number) => number;
  fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number;
  flockSync: (fd: number, op: number) => number;
  syscall: (nr: number, ...rest: unknown[]) => number;
  poll: { async: (fds: Buffer, n: number, timeout: number, cb: (err: unknown, res: number) => void) => void };
  errno: () => number;
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  recvmsg: (fd: number, msg: unknown, flags: number) => number;
  close: (fd: number) => number;
  shutdown: (fd: number, how: number) => number;
  execve: (path: string, argv: (string | null)[], envp: (string | null)[]) => number;
}

let libc: Libc | null | undefined;
let loadError: string | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  if (process.platform !== 'linux') {
    loadError = `native calls are only wired for Linux (this is ${process.platform})`;
    return (libc = null);
  }
  try {
    const koffi = loadKoffi();
    const lib = koffi.load('libc.so.6');
    const poll = lib.func('int poll(_Inout_ uint8_t *fds, unsigned long n, int timeout)');
    libc = {
      prctl: lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)'),
      prctlGetInt: lib.func('int prctl(int, _Out_ int *value, unsigned long, unsigned long, unsigned long)'),
      waitpid: lib.func('int waitpid(int, _Out_ int *status, int)'),
      fcntl: lib.func('int fcntl(int, int, ...)'),
      flockSync: lib.func('int flock(int, int)'),
      syscall: lib.func('long syscall(long, ...)'),
      poll: { async: (fds, n, timeout, cb) => poll.async(fds, n, timeout, cb) },
      errno: () => koffi.errno() as number,
      socket: lib.func('int socket(int, int, int)'),
      bind: lib.func('int bind(int, const uint8_t *addr, uint32_t len)'),
      sendto: lib.func('long sendto(int, const uint8_t *buf, unsigned long len, int flags, const uint8_t *addr, uint32_t alen)'),
      setsockopt: lib.func('int setsockopt(int, int, int, const uint8_t *value, uint32_t len)'),
      recvmsg: lib.func('long recvmsg(int, void *msg, int flags)'),
      close: lib.func('int close(int)'),
      shutdown: lib.func('int shutdown(int, int)'),
      execve: lib.func('int execve(const char *path, const char **argv, const char **envp)'),
    };
  } catch (err) {
    loadError = `cannot load koffi: ${(err as Error).message}`;
    libc = null;
  }
  return libc;
}

type Koffi = {
  version: string;
  alloc(type: string, length: number): unknown;
  address(pointer: unknown): bigint;
  view(pointer: unknown, length: number): ArrayBuffer;
  sizeof(type: string): number;
  load(path: string): { func(signature: string): ((...args: unknown[]) => number) & { async: (...args: unknown[]) => void } };
  errno(): number;
};

/**
 * koffi's own index.js finds the right binary and wraps it with deprecated helpers, and on the
 * way loads node:https, node:zlib and node:crypto: about 9 ms of every action that makes a libc
 * call. The binary alone loads in about 1 ms, so it is required directly where this platform's
 * is (the same version check index.js makes), and through index.js otherwise.
 */
function loadKoffi(): Koffi {
  const require = createRequire(import.meta.url);
  try {
    const root = dirname(require.resolve('koffi/package.json'));
    const native = require(join(root, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node')) as Koffi;
    if (native.version === (require('koffi/package.json') as { version: string }).version) return native;
  } catch {
    // Another libc (musl) or layout: index.js knows them all.
  }
  return require('koffi') as Koffi;
}

/** Why native calls are unavailable, or undefined when they work. */
export function nativeUnavailableReason(): string | undefined {
  load();
  return loadError;
}

const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const WNOHANG = 1;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const FD_CLOEXEC = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const EINTR = 4;
const SYS_pidfd_open = 434;
const SYS_pidfd_send_signal = 424;

export function setChildSubreaper(): boolean {
  const c = load();
  return c !== null && c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
}

/**
 * Whether this process is a child subreaper already: the bit survives exec, so a parent (a
 * supervisor, a test harness) may have set it before starting us. False where prctl is unavailable.
 */
export function isChildSubreaper(): boolean {
  const c = load();
  const value = [0];
  return c !== null && c.prctlGetInt(PR_GET_CHILD_SUBREAPER, value, 0, 0, 0) === 0 && value[0] !== 0;
}

type WaitResult =
  | { state: 'running' }
  | { state: 'not-child' }
  | { state: 'exited'; code: number }
  | { state: 'killed'; signal: number };

/** waitpid(pid, WNOHANG) on one specific pid (never -1: that would steal libuv's children). */
export function waitPidNoHang(pid: number): WaitResult {
  const c = load();
  if (c === null) return { state: 'not-child' };
  const status = [0];
  for (;;) {
    const r = c.waitpid(pid, status, WNOHANG);
    if (r === 0) return { state: 'running' };
    if (r === pid) {
      const s = status[0] ?? 0;
      const sig = s & 0x7f;
      return sig === 0 ? { state: 'exited', code: (s >> 8) & 0xff } : { state: 'killed', signal: sig };
    }
    const errno = c.errno();
    if (errno === EINTR) continue;
    // ECHILD (not our child, or reaped already) and anything else: nothing to wait for here.
    return { state: 'not-child' };
  }
}

/** The fds open in this process (from /proc/self/fd), or undefined where that cannot be read. */
export function openFds(): number[] | undefined {
  try {
    return readdirSync('/proc/self/fd').map(Number);
  } catch {
    return undefined;
  }
}

/** Marks fd close-on-exec; false when it is not open or native calls are unavailable. */
export function setCloseOnExec(fd: number): boolean {
  const c = load();
  if (c === null) return false;
  const flags = c.fcntl(fd, F_GETFD);
  if (flags < 0) return false;
  if (flags & FD_CLOEXEC) return true;
  return c.fcntl(fd, F_SETFD, 'int', flags | FD_CLOEXEC) === 0;
}

/**
 * Replaces this process's image (same pid) with file run as argv, in env. Fds 0-2 and `keep` stay
 * open (Node marks even 0-2 close-on-exec); every other fd closes. Returns only on failure, with
 * the reason.
 */
export function execInPlace(file: string, argv: string[], env: NodeJS.ProcessEnv, keep: number[]): string {
  const c = load();
  if (c === null) return loadError ?? 'native calls are unavailable';
  const fds = openFds();
  if (fds === undefined) return 'cannot list open fds: /proc/self/fd is unreadable';
  for (const fd of fds) {
    const flags = c.fcntl(fd, F_GETFD);
    if (flags < 0) continue;
    const wanted = fd <= 2 || keep.includes(fd) ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC;
    if (wanted !== flags) c.fcntl(fd, F_SETFD, 'int', wanted);
  }
  const envp = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  c.execve(file, [...argv, null], [...envp, null]);
  return `execve ${file}: errno ${c.errno()}`;
}

/** Clears O_NONBLOCK on fd's open file description; false when that could not be done. */
export function clearNonBlocking(fd: number): boolean {
  const c = load();
  if (c === null) return false;
  const flags = c.fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  return (flags & O_NONBLOCK) === 0 || c.fcntl(fd, F_SETFL, 'int', flags & ~O_NONBLOCK) === 0;
}

export function isCloseOnExec(fd: number): boolean | undefined {
  const c = load();
  if (c === null) return undefined;
  const flags = c.fcntl(fd, F_GETFD);
  return flags < 0 ? undefined : (flags & FD_CLOEXEC) !== 0;
}

/** Exclusive flock on fd without waiting: 'busy' when another open file holds it. */
export function tryLockExclusive(fd: number): 'locked' | 'busy' | 'unavailable' {
  const c = load();
  if (c === null) return 'unavailable';
  for (;;) {
    if (c.flockSync(fd, LOCK_EX | LOCK_NB) === 0) return 'locked';
    const errno = c.errno();
    if (errno === EINTR) continue;
    return errno === EWOULDBLOCK ? 'busy' : 'unavailable';
  }
}

/** A pidfd for pid (Linux >= 5.3), or -1. */
export function pidfdOpen(pid: number): number {
  const c = load();
  if (c === null) return -1;
  const fd = Number(c.syscall(SYS_pidfd_open, 'int', pid, 'unsigned int', 0));
  return fd >= 0 ? fd : -1;
}

/** Signals the process behind a pidfd: immune to pid reuse. Returns 0 or an errno. */
export function pidfdSendSignal(pidfd: number, signal: number): number {
  const c = load();
  if (c === null) return 38; // ENOSYS
  const r = Number(c.syscall(SYS_pidfd_send_signal, 'int', pidfd, 'int', signal, 'void *', null, 'unsigned int', 0));
  return r === 0 ? 0 : c.errno();
}

/**
 * Waits until every fd is readable (for pidfds: the process has exited) or the timeout passes.
 * Resolves to the fds still not readable.
 */
export async function waitReadable(fds: number[], timeoutMs: number): Promise<number[]> {
  const c = load();
  if (c === null) return fds;
  const deadline = Date.now() + timeoutMs;
  let pending = fds.slice();
  while (pending.length > 0) {
    const left = Math.max(0, deadline - Date.now());
    const buf = Buffer.alloc(8 * pending.length);
    pending.forEach((fd, i) => {
      buf.writeInt32LE(fd, i * 8);
      buf.writeInt16LE(1 /* POLLIN */, i * 8 + 4);
    });
    const n = await new Promise<number>((resolve, reject) => {
      c.poll.async(buf, pending.length, Math.min(left, 2 ** 31 - 1), (err, res) => (err ? reject(err) : resolve(res)));
    });
    if (n < 0 && c.errno() !== EINTR) return pending;
    pending = pending.filter((_, i) => buf.readInt16LE(i * 8 + 6) === 0);
    if (left === 0) break;
  }
  return pending;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const MSG_DONTWAIT = 0x40;
const SOL_SOCKET = 1;
const SO_PASSCRED = 16;
const MSG_NOSIGNAL = 0x4000;

/** struct sockaddr_un for a path, or an abstract name when it starts with '@'. */
function unixAddress(address: string): { buf: Buffer; len: number } | undefined {
  const abstract = address.startsWith('@');
  const name = Buffer.from(abstract ? address.slice(1) : address);
  if (name.length === 0 || name.length > 107) return undefined;
  const buf = Buffer.alloc(110);
  buf.writeUInt16LE(AF_UNIX, 0);
  name.copy(buf, abstract ? 3 : 2);
  return { buf, len: 2 + (abstract ? 1 : 0) + name.length + (abstract ? 0 : 1) };
}

/** sendDatagram's answer when the receiver's queue is full (try again later). */
export const EAGAIN = 11;

/**
 * Sends one datagram to an AF_UNIX socket (path or @abstract) without ever waiting: a receiver
 * whose queue is full (a flooded or stalled one) gives EAGAIN at once. Returns 0 or an errno.
 */
export function sendDatagram(address: string, payload: Buffer): number {
  const c = load();
  if (c === null) return 38;
  const addr = unixAddress(address);
  if (addr === undefined) return 22; // EINVAL
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return c.errno();
  try {
    const n = Number(c.sendto(fd, payload, payload.length, MSG_NOSIGNAL | MSG_DONTWAIT, addr.buf, addr.len));
    return n < 0 ? c.errno() : 0;
  } finally {
    c.close(fd);
  }
}

/** A bound AF_UNIX datagram socket (close-on-exec, non-blocking) that is told each sender's credentials, or -1 with the reason. */
export function bindDatagram(address: string): { fd: number; error?: string } {
  const c = load();
  if (c === null) return { fd: -1, error: loadError };
  const addr = unixAddress(address);
  if (addr === undefined) return { fd: -1, error: `bad socket address ${address}` };
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return { fd: -1, error: `socket() failed (errno ${c.errno()})` };
  const failed = c.bind(fd, addr.buf, addr.len) !== 0 ? 'bind' : c.setsockopt(fd, SOL_SOCKET, SO_PASSCRED, Buffer.from([1, 0, 0, 0]), 4) !== 0 ? 'SO_PASSCRED' : undefined;
  if (failed !== undefined) {
    const errno = c.errno();
    c.close(fd);
    return { fd: -1, error: `${failed}(${address}) failed (errno ${errno})` };
  }
  return { fd };
}

/** A datagram and its sender, as the kernel vouches for it (SCM_CREDENTIALS); -1 when not given. */
export interface Datagram {
  data: Buffer;
  pid: number;
  uid: number;
  /** File descriptors the sender passed (SCM_RIGHTS), now open here: the caller closes them. */
  fds: number[];
}

const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const DATA_SIZE = 4096;
const CONTROL_SIZE = 512;

/** One recvmsg block, made once: msghdr | iovec | control | data, with the pointers between them. */
interface ReceiveBlock {
  pointer: unknown;
  bytes: Uint8Array;
  view: DataView;
  /** The size of a pointer and of size_t: 8 (LP64) or 4 (ILP32). */
  word: number;
  getWord(offset: number): number;
  setWord(offset: number, value: bigint): void;
  control: number;
  data: number;
}
let receiveBlock: ReceiveBlock | undefined;

function recvmsgBlock(): ReceiveBlock {
  if (receiveBlock !== undefined) return receiveBlock;
  const koffi = loadKoffi();
  // LP64 or ILP32 Linux: msghdr is 7 words (namelen and flags padded to a word), iovec 2.
  const word = koffi.sizeof('void *');
  const iov = 7 * word;
  const control = iov + 2 * word;
  const data = control + CONTROL_SIZE;
  const size = data + DATA_SIZE;
  const pointer = koffi.alloc('uint8_t', size);
  const bytes = new Uint8Array(koffi.view(pointer, size));
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const base = koffi.address(pointer);
  const getWord = (offset: number) => (word === 8 ? Number(view.getBigUint64(offset, true)) : view.getUint32(offset, true));
  const setWord = (offset: number, value: bigint) => (word === 8 ? view.setBigUint64(offset, value, true) : view.setUint32(offset, Number(value), true));
  setWord(2 * word, base + BigInt(iov));
  setWord(3 * word, 1n);
  setWord(4 * word, base + BigInt(control));
  setWord(iov, base + BigInt(data));
  setWord(iov + word, BigInt(DATA_SIZE));
  return (receiveBlock = { pointer, bytes, view, word, getWord, setWord, control, data });
}

/**
 * Reads one pending datagram without blocking, with the sender's pid and uid and any fds it passed
 * (sd_notify's BARRIER=1, FDSTORE=1); undefined when none is queued.
 */
export function receiveDatagram(fd: number): Datagram | undefined {
  const c = load();
  if (c === null) return undefined;
  const b = recvmsgBlock();
  const { view, word } = b;
  b.setWord(5 * word, BigInt(CONTROL_SIZE));
  const n = Number(c.recvmsg(fd, b.pointer, MSG_DONTWAIT));
  if (n < 0) return undefined;
  const got: Datagram = { data: Buffer.from(b.bytes.subarray(b.data, b.data + Math.min(n, DATA_SIZE))), pid: -1, uid: -1, fds: [] };
  const header = Math.ceil((word + 8) / word) * word;
  const end = b.control + Math.min(b.getWord(5 * word), CONTROL_SIZE);
  for (let at = b.control; at + header <= end; ) {
    const len = b.getWord(at);
    if (len < header || at + len > end) break;
    const level = view.getInt32(at + word, true);
    const type = view.getInt32(at + word + 4, true);
    if (level === SOL_SOCKET && type === SCM_CREDENTIALS && len >= header + 12) {
      got.pid = view.getInt32(at + header, true);
      got.uid = view.getUint32(at + header + 4, true);
    } else if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      for (let p = at + header; p + 4 <= at + len; p += 4) got.fds.push(view.getInt32(p, true));
    }
    at += Math.ceil(len / word) * word;
  }
  return got;
}

export function closeFd(fd: number): void {
  load()?.close(fd);
}

/**
 * shutdown(fd, SHUT_RDWR) on a bound datagram socket: a poll() waiting on it (on a worker thread)
 * returns at once, and senders get an error instead of queueing. Never waits. The fd stays open.
 */
export function shutdownSocket(fd: number): boolean {
  const c = load();
  return c !== null && c.shutdown(fd, 2 /* SHUT_RDWR */) === 0;
}
