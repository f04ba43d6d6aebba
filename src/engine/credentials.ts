// Dropping privileges before the command runs: Node can only setuid/setgid a child without
// setting its supplementary groups properly, so the command is exec'd through util-linux setpriv.
// The library in front drops them in its own process, with the same groups policy. Either way the
// gid always changes too (the user's passwd gid, or --group), and the command gets the user's own
// HOME, USER, LOGNAME and SHELL (environmentFor), readiness probes included.
import { existsSync } from 'node:fs';
import { DaemonError } from '../base/errors.js';
import { warn } from '../base/log.js';
import type { Credentials } from '../base/types.js';
import { groupName, lookupUser } from '../base/users.js';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * argv prefixed with setpriv when --user/--group ask for it (initgroups for a named user), or when
 * the command must get `parentDeathSignal` the moment its parent dies: setpriv sets it after the
 * credential change, which would clear it, and a shell line then checks the parent (below).
 */
export function withCredentials(argv: string[], creds: Credentials, parentDeathSignal?: NodeJS.Signals): string[] {
  const { uid, gid, userName } = creds;
  if (uid === undefined && gid === undefined && parentDeathSignal === undefined) return argv;
  if (SETPRIV === undefined) {
    if (uid === undefined && gid === undefined) {
      warn('setpriv (util-linux) is missing: if this wrapper is killed, its command runs on');
      return argv;
    }
    throw new DaemonError('unsupported', '--user/--group need setpriv (util-linux), which is not installed');
  }
  if (uid !== undefined && gid === undefined) {
    // setpriv --reuid alone keeps the caller's gid (root's 0): the option checks refuse this first.
    throw new DaemonError('usage', `uid ${uid} has no passwd entry, so no group of its own: give --group too`, { exitCode: 2 });
  }
  const prefix = [SETPRIV];
  if (uid !== undefined) prefix.push(`--reuid=${uid}`);
  if (gid !== undefined) prefix.push(`--regid=${gid}`);
  if (uid !== undefined || gid !== undefined) prefix.push(uid !== undefined && userName !== undefined ? '--init-groups' : '--clear-groups');
  if (parentDeathSignal === undefined) return [...prefix, '--', ...argv];
  const signal = parentDeathSignal.replace(/^SIG/, '');
  return [...prefix, `--pdeathsig=${signal}`, '--', '/bin/sh', '-c', PARENT_STILL_THERE, 'sh', String(process.pid), signal, ...argv];
}

/**
 * The kernel sends the parent-death signal only for a parent that dies after it was set: a wrapper
 * killed between the fork and setpriv's prctl would leave the command orphaned (measured: 16 of 30
 * wrappers SIGKILLed the moment their child appeared). So, once it is set, the command runs only
 * if its parent is still this process; otherwise the signal is sent as the kernel would have.
 * Usage: sh -c PARENT_STILL_THERE sh EXPECTED_PPID SIGNAL COMMAND...
 */
const PARENT_STILL_THERE = '[ "$PPID" = "$1" ] || { kill -s "$2" $$; exit 1; }; shift 2; exec "$@"';

/** The login variables a user's processes get from passwd, as systemd's User= sets them. */
const LOGIN_VARS = ['HOME', 'USER', 'LOGNAME', 'SHELL'] as const;

/**
 * env for a command that runs as creds' user: HOME, USER, LOGNAME and SHELL from its passwd entry
 * (SHELL /bin/sh when the entry names none), never the caller's. A uid with no passwd entry gets
 * none of the four. Without a uid to change to, env as it is.
 */
export function environmentFor(creds: Credentials, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (creds.uid === undefined) return env;
  const entry = creds.userName !== undefined ? lookupUser(creds.userName) : undefined;
  const result: NodeJS.ProcessEnv = { ...env };
  for (const key of LOGIN_VARS) delete result[key];
  if (entry?.name !== undefined && entry.uid === creds.uid) {
    result.HOME = entry.home || '/';
    result.USER = entry.name;
    result.LOGNAME = entry.name;
    result.SHELL = entry.shell || '/bin/sh';
  }
  return result;
}

/**
 * Only root can change the user or the group: an unprivileged caller asking for another is refused
 * here, before anything is created or launched (start, restart, run, the library's start). One
 * asking for its own uid and gid needs no change, so none is made (setpriv's initgroups would fail).
 */
export function credentialsForCaller(creds: Credentials): Credentials {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0 || (creds.uid === undefined && creds.gid === undefined)) return creds;
  if (creds.uid !== undefined && creds.uid !== uid) {
    throw notPermitted('user', creds.userName ?? String(creds.uid));
  }
  if (creds.gid !== undefined && creds.gid !== process.getgid?.()) throw notPermitted('group', groupName(creds.gid));
  return { uid: undefined, gid: undefined, userName: undefined };
}

const notPermitted = (what: 'user' | 'group', name: string) =>
  new DaemonError('not-permitted', `Cannot run as ${what} ${name}: only root can change the ${what} (operation not permitted)`);

/** Node has process.initgroups (POSIX only); @types/node does not declare it. */
type WithInitgroups = NodeJS.Process & { initgroups?: (user: string, extraGroup: number) => void };

/**
 * The same drop in this process, as setpriv does it: supplementary groups first (the named user's,
 * from initgroups with the passwd gid; otherwise none), then the gid, then the uid.
 */
export function dropPrivileges(creds: Credentials): void {
  const { uid, gid, userName } = creds;
  if (uid === undefined && gid === undefined) return;
  if (uid !== undefined && gid === undefined) {
    throw new DaemonError('usage', `uid ${uid} has no passwd entry, so no group of its own: give gid too`, { exitCode: 2 });
  }
  const primary = userName !== undefined ? lookupUser(userName)?.gid : undefined;
  if (uid !== undefined && userName !== undefined && primary !== undefined) (process as WithInitgroups).initgroups?.(userName, primary);
  else process.setgroups?.([]);
  if (gid !== undefined) process.setgid?.(gid);
  if (uid !== undefined) process.setuid?.(uid);
  // What runs in this process from now on (the worker, its probes and children) sees the user's own.
  const env = environmentFor(creds, process.env);
  if (env !== process.env) {
    for (const key of LOGIN_VARS) {
      if (env[key] === undefined) delete process.env[key];
      else process.env[key] = env[key];
    }
  }
}
