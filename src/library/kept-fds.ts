// Which fds a daemon inherits. With closeOpenFiles: false, the library passes on "the user's" fds:
// those inherited without close-on-exec, and those opened after daemonocle was loaded, at the same
// numbers — never Node's own (epoll, eventfd, signal pipes: anon inodes, all close-on-exec).
import { fstatSync, readlinkSync } from 'node:fs';
import { isCloseOnExec, openFds } from '../base/native.js';

const listFds = (): number[] => (openFds() ?? []).filter((fd) => fd > 2);

/** What each fd was when daemonocle loaded: a number reused later for a user's file is the user's. */
function identity(fd: number): string | undefined {
  try {
    const st = fstatSync(fd);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

const atLoad = new Map(listFds().map((fd) => [fd, identity(fd)]));

export function userFds(): number[] {
  const fds: number[] = [];
  const stdio = new Set([0, 1, 2].map(identity).filter((id): id is string => id !== undefined));
  for (const fd of listFds()) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd of the directory listing itself, already closed
    }
    if (target.startsWith('anon_inode:')) continue;
    // A runtime's own copy of its stdio (Bun dups fd 1 when it first writes to it): never the
    // user's, and the caller's stdout pipe must not outlive the caller in the daemon.
    const id = identity(fd);
    if (id !== undefined && stdio.has(id)) continue;
    const inherited = isCloseOnExec(fd) === false;
    if (inherited || !atLoad.has(fd) || atLoad.get(fd) !== identity(fd)) fds.push(fd);
  }
  return fds;
}
