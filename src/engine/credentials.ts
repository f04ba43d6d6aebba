// Dropping privileges before the command runs: Node can only setuid/setgid a child without
// setting its supplementary groups properly, so the command is exec'd through util-linux setpriv
// (the exec chain's first link, exec-chain.ts). The library in front drops them in its own process
// (dropPrivileges), with the same groups policy (groupsOf) and the same refusal (requireGroup). Either way the
// gid always changes too (the user's passwd gid, or --group), and the command gets the user's own
// HOME, USER, LOGNAME and SHELL (environmentFor), readiness probes included.
import { DaemonError, optionError } from '../base/errors.js';
import type { Credentials } from '../base/types.js';
import { groupName, lookupUser } from '../base/users.js';

/** Supplementary groups: a named user's own (initgroups), else none. setpriv and dropPrivileges() both follow it. */
export function groupsOf(creds: Credentials): 'init' | 'clear' {
  return creds.uid !== undefined && creds.userName !== undefined ? 'init' : 'clear';
}

/**
 * A uid with no passwd entry has no group of its own: alone, the gid would stay the caller's
 * (root's 0). The option checks refuse this first; the engine refuses it again before any change.
 */
export function requireGroup(creds: Credentials): void {
  if (creds.uid !== undefined && creds.gid === undefined) {
    throw optionError('usage', (o) => `uid ${creds.uid} has no passwd entry, so no group of its own: give ${o('gid')} too`, { exitCode: 2 });
  }
}

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
  requireGroup(creds);
  const primary = userName !== undefined ? lookupUser(userName)?.gid : undefined;
  if (groupsOf(creds) === 'init' && primary !== undefined) (process as WithInitgroups).initgroups?.(userName!, primary);
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
