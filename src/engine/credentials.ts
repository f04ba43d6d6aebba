// Dropping privileges before the command runs: Node can only setuid/setgid a child without
// setting its supplementary groups properly, so the command is exec'd through util-linux setpriv.
import { existsSync } from 'node:fs';
import { DaemonError } from '../errors.js';
import type { Credentials } from '../options.js';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** argv prefixed with setpriv when --user/--group ask for it (initgroups for a named user). */
export function withCredentials(argv: string[], creds: Credentials): string[] {
  const { uid, gid, userName } = creds;
  if (uid === undefined && gid === undefined) return argv;
  if (SETPRIV === undefined) throw new DaemonError('unsupported', '--user/--group need setpriv (util-linux), which is not installed');
  const prefix = [SETPRIV];
  if (uid !== undefined) prefix.push(`--reuid=${uid}`);
  if (gid !== undefined) prefix.push(`--regid=${gid}`);
  prefix.push(uid !== undefined && userName !== undefined ? '--init-groups' : '--clear-groups', '--');
  return [...prefix, ...argv];
}
