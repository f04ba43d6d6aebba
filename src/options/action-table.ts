// The one table of actions: what each needs and how each is described. Which actions take a
// command (and so launch one), which launch it detached, the help's summary lines, and the
// built-in actions of daemon.cli() with their help are all read from here, never listed again.
import { ACTIONS, type Action } from '../base/types.js';

export interface ActionDef {
  /** It launches a command: the CLI needs one after '--' (a Daemon launches its script). */
  command: boolean;
  /** It launches the command detached (start's engine), not in front. */
  detached: boolean;
  /** The general help's one line. */
  line: string;
  /** The first line of its own --help. */
  what: string;
  /** Its line in daemon.cli()'s help; none for an action a Daemon does not have. */
  library?: string;
}

export const ACTION_TABLE: Readonly<Record<Action, ActionDef>> = {
  start: {
    command: true, detached: true,
    line: 'start CMD detached; OK only once it came up',
    what: 'Start CMD as a daemon and report whether it came up.',
    library: 'start the daemon (detached unless PID 1, under systemd, or stdin is a socket)',
  },
  stop: {
    command: false, detached: false,
    line: 'send SIGTERM and wait for the exit (no SIGKILL unless --force)',
    what: 'Stop the daemon and wait for it to exit.',
    library: 'stop the daemon and wait for it to exit',
  },
  restart: {
    command: true, detached: true,
    line: 'stop if running, then start',
    what: 'Stop the daemon (if running), then start CMD.',
    library: 'stop the daemon if running, then start it',
  },
  status: {
    command: false, detached: false,
    line: "pid, state, uptime, %cpu and %mem of the daemon's process group",
    what: 'Show pid, state, uptime, %cpu and %mem of the daemon and its process group.',
    library: 'show pid, state, uptime, %cpu and %mem (--json for JSON)',
  },
  reload: {
    command: false, detached: false,
    line: 'send SIGHUP (or --reload-signal) to the daemon',
    what: 'Send the reload signal (SIGHUP) to the daemon; it does not wait.',
    library: 'tell the running daemon to restart itself in place (SIGHUP)',
  },
  run: {
    command: true, detached: false,
    line: 'run CMD in the foreground (systemd ExecStart=, container ENTRYPOINT)',
    what: 'Run CMD in the foreground: forward signals, reap orphans as PID 1, exit the way CMD did.',
    library: 'run the worker in the foreground',
  },
  list: {
    command: false, detached: false,
    line: 'every daemon in a pid directory: name, pid, state, uptime, %cpu, %mem',
    what: "List every daemon whose pid file is in the default pid directory (or --pid-dir), like pm2 ls.",
  },
};

const where = (test: (d: ActionDef) => boolean): Action[] => ACTIONS.filter((a) => test(ACTION_TABLE[a]));

/** The actions that launch a command: start, restart, run. */
export const LAUNCHING: readonly Action[] = where((d) => d.command);
/** The actions that launch it detached: start, restart. */
export const DETACHING: readonly Action[] = where((d) => d.detached);
/** A Daemon's built-in actions: every action but list (a Daemon is one daemon). */
export type LibraryAction = Exclude<Action, 'list'>;
/** doAction()'s and daemon.cli()'s built-in actions: those with a line in daemon.cli()'s help. */
export const LIBRARY_ACTIONS = where((d) => d.library !== undefined) as readonly LibraryAction[];

/** Whether `action` (any word: a Daemon's custom action too) launches a command. */
export const launches = (action: string): boolean => (LAUNCHING as readonly string[]).includes(action);
