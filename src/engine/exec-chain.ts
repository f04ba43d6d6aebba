// The one exec chain: the command line that is finally exec'd, built here and nowhere else, for
// every command this project launches (a detached start's daemon after the session leader, run's
// child, a readiness probe, a library daemon's re-execution). Node's spawn() cannot set what a
// command must start with, so small programs set it and exec the next link, in this order:
//
//   1. setpriv        (util-linux) the credentials: groups (initgroups for a named user, else none),
//                     then the gid, then the uid; and the parent-death signal, set after the
//                     credential change (which would clear it).
//   2. parent guard   (/bin/sh) with a parent-death signal only: runs the rest only if the parent
//                     is still the wrapper, else sends that signal itself (PARENT_STILL_THERE).
//   3. env            (GNU coreutils) the signal state: every disposition reset (a detached daemon:
//                     the session leader's `&` left INT and QUIT ignored), or the dispositions and
//                     mask the wrapper inherited handed on (run, as tini does).
//   4. LISTEN_PID     (/bin/sh) the command's own pid in LISTEN_PID, for socket activation (run
//                     under systemd): only the process that becomes the command knows it.
//   5. the command itself.
//
// A link nothing asks for is left out, so a plain command is exec'd as it is. env comes after
// setpriv and the guard so that they run with the default signal state and the command gets the
// state asked for; LISTEN_PID comes last because each exec keeps the pid it names.
//
// What is not a link: the umask and the working directory, set by spawnProcess() for every spawn
// (the session leader of a detached start included, whose daemon inherits them), and the library's
// daemon in front drops its credentials in its own process (dropPrivileges(), credentials.ts), with
// the same groups, gid, uid order as setpriv's.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { optionError } from '../base/errors.js';
import { warn } from '../base/log.js';
import type { Credentials } from '../base/types.js';
import { groupsOf, requireGroup } from './credentials.js';
import type { InheritedSignals } from './inherited-signals.js';

export interface ExecLinks {
  /** Run as these (setpriv). */
  credentials?: Credentials;
  /** The signal the command gets when its parent (this process) dies: setpriv, then the guard. */
  parentDeathSignal?: NodeJS.Signals;
  /** 'default': every disposition reset; else the dispositions and mask to start with. */
  signals?: 'default' | InheritedSignals;
  /** LISTEN_PID set to the command's own pid. */
  listenPid?: boolean;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
/** GNU coreutils env, for the signal state. */
export const ENV_BIN = ['/usr/bin/env', '/bin/env'].find((p) => existsSync(p)) ?? 'env';

/**
 * The kernel sends the parent-death signal only for a parent that dies after it was set: a wrapper
 * killed between the fork and setpriv's prctl would leave the command orphaned (measured: 16 of 30
 * wrappers SIGKILLed the moment their child appeared). So, once it is set, the command runs only
 * if its parent is still this process; otherwise the signal is sent as the kernel would have.
 * Usage: sh -c PARENT_STILL_THERE sh EXPECTED_PPID SIGNAL COMMAND...
 */
const PARENT_STILL_THERE = '[ "$PPID" = "$1" ] || { kill -s "$2" $$; exit 1; }; shift 2; exec "$@"';

/** Usage: sh -c SET_LISTEN_PID sh COMMAND... */
const SET_LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"';

/** The command line to exec: `command` behind the links asked for, in the order above; `command` itself when none is. */
export function execChain(command: string[], links: ExecLinks): string[] {
  const privileges = setprivLink(links.credentials, links.parentDeathSignal);
  const signal = privileges === undefined ? undefined : links.parentDeathSignal?.replace(/^SIG/, '');
  const chain = [
    ...(privileges ?? []),
    ...(signal === undefined ? [] : ['/bin/sh', '-c', PARENT_STILL_THERE, 'sh', String(process.pid), signal]),
    ...envLink(links.signals),
    ...(links.listenPid ? ['/bin/sh', '-c', SET_LISTEN_PID, 'sh'] : []),
  ];
  return chain.length === 0 ? command : [...chain, ...command];
}

/** setpriv's arguments up to `--`, or none when there is nothing for it to do (or no setpriv for a parent-death signal alone). */
function setprivLink(creds: Credentials | undefined, parentDeathSignal: NodeJS.Signals | undefined): string[] | undefined {
  const { uid, gid } = creds ?? { uid: undefined, gid: undefined };
  if (uid === undefined && gid === undefined && parentDeathSignal === undefined) return undefined;
  if (SETPRIV === undefined) {
    if (uid === undefined && gid === undefined) {
      warn('setpriv (util-linux) is missing: if this wrapper is killed, its command runs on');
      return undefined;
    }
    throw optionError('unsupported', (o) => `${o('uid')}/${o('gid')} need setpriv (util-linux), which is not installed`);
  }
  const args = [SETPRIV];
  if (creds !== undefined && (uid !== undefined || gid !== undefined)) {
    // setpriv --reuid alone keeps the caller's gid (root's 0): the option checks refuse this first.
    requireGroup(creds);
    if (uid !== undefined) args.push(`--reuid=${uid}`);
    args.push(`--regid=${gid}`, groupsOf(creds) === 'init' ? '--init-groups' : '--clear-groups');
  }
  if (parentDeathSignal !== undefined) args.push(`--pdeathsig=${parentDeathSignal.replace(/^SIG/, '')}`);
  return [...args, '--'];
}

const nameOf = (n: number) => Object.entries(constants.signals).find(([, num]) => num === n)?.[0].replace(/^SIG/, '') ?? String(n);

/** env's arguments up to `--`, or none when the signal state needs no change. */
function envLink(signals: ExecLinks['signals']): string[] {
  if (signals === undefined) return [];
  if (signals === 'default') return [ENV_BIN, '--default-signal', '--'];
  if (signals.ignored.length === 0 && signals.blocked.length === 0) return [];
  const list = (ns: number[]) => ns.map(nameOf).join(',');
  return [
    ENV_BIN,
    ...(signals.ignored.length > 0 ? [`--ignore-signal=${list(signals.ignored)}`] : []),
    ...(signals.blocked.length > 0 ? [`--block-signal=${list(signals.blocked)}`] : []),
    '--',
  ];
}
