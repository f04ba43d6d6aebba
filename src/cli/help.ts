import type { Action } from './parse.js';

export const USAGE = 'Usage: daemonocle <start|stop|restart|status|reload|run> [options] [-- command [args...]]';

const COMMON = `  --name NAME            name in messages and the default pid file (default: the command's basename)
  --pid-file PATH        pid file (default: /run/daemonocle/NAME.pid as root,
                         else $XDG_RUNTIME_DIR/daemonocle/NAME.pid, else /tmp/daemonocle-UID/NAME.pid)`;

const START = `  --work-dir DIR         working directory of the daemon (default: /)
  --stdout FILE          append the daemon's stdout to FILE (default: /dev/null)
  --stderr FILE          append the daemon's stderr to FILE (default: /dev/null)
  --umask OCTAL          umask of the daemon (default: 022)
  --user USER            run the command as USER (name or uid)
  --group GROUP          run the command with GROUP (name or gid)
  --grace SECONDS        startup window: dying inside it is a failed start (default: 1)
  --notify               wait for the daemon's own sd_notify READY=1 instead of the window
  --ready-port [HOST:]PORT  probe: ready once a TCP connect succeeds
  --ready-file PATH      probe: ready once PATH exists
  --ready-cmd 'CMD'      probe: ready once CMD exits 0
  --start-timeout SECONDS  with --notify or a probe: how long to wait (default: 90)
  --keep-fds LIST        extra open fds the daemon inherits, e.g. 3,4`;

const OWNER = `  --user USER, --group GROUP  the daemon's own user and group: a pid file directory
                         that start --user created for them is theirs, and trusted`;

const STOP = `  --stop-timeout SECONDS how long stop waits for the exit (default: 10)
  --signal-group         signal the daemon's whole process group, not only its pid
  --force                after the timeout, send SIGKILL (never sent otherwise)`;

const PER_ACTION: Record<Action, { what: string; options: string[] }> = {
  start: { what: 'Start CMD as a daemon and report whether it came up.', options: [COMMON, START] },
  stop: { what: 'Stop the daemon and wait for it to exit.', options: [COMMON, STOP, OWNER] },
  restart: { what: 'Stop the daemon (if running), then start CMD.', options: [COMMON, START, STOP] },
  status: {
    what: 'Show pid, state, uptime, %cpu and %mem of the daemon and its process group.',
    options: [COMMON, '  --json                 one JSON object on stdout', OWNER],
  },
  run: {
    what: 'Run CMD in the foreground: forward signals, reap orphans as PID 1, exit the way CMD did.',
    options: [
      COMMON,
      '  --work-dir DIR         working directory (default: the current one)',
      '  --stdout FILE, --stderr FILE  append the output there (default: inherited)',
      '  --umask OCTAL, --user USER, --group GROUP, --keep-fds LIST  as for start',
      '  --stop-timeout SECONDS after a forwarded TERM/INT/QUIT, warn when CMD is still alive (default: 10)',
      '  --signal-group         forward signals to the whole process group of CMD',
      '  --subreaper            reap orphaned descendants even when not PID 1',
    ],
  },
  reload: {
    what: 'Send the reload signal (SIGHUP) to the daemon; it does not wait.',
    options: [COMMON, '  --reload-signal SIG    signal to send (default: HUP)', '  --signal-group         signal the whole process group', OWNER],
  },
};

export function helpText(action: Action | undefined): string {
  if (action !== undefined) {
    const a = PER_ACTION[action];
    const cmd = action === 'start' || action === 'restart' || action === 'run' ? ' -- CMD [ARGS...]' : '';
    return `Usage: daemonocle ${action} [options]${cmd}\n\n${a.what}\n\nOptions:\n${a.options.join('\n')}\n`;
  }
  return `${USAGE}

Run any command as a well-behaved Unix daemon.

Actions:
  start    start CMD detached; OK only once it survived the startup window
  stop     send SIGTERM and wait for the exit (no SIGKILL unless --force)
  restart  stop if running, then start
  status   pid, state, uptime, %cpu and %mem of the daemon's process group
  reload   send SIGHUP (or --reload-signal) to the daemon
  run      run CMD in the foreground (systemd ExecStart=, container ENTRYPOINT)

Options:
${COMMON}
${START}
${STOP}
  --json                 status: one JSON object on stdout
  --reload-signal SIG    reload: signal to send (default: HUP)
  --subreaper            run: reap orphaned descendants even when not PID 1
  -h, --help             this help (daemonocle ACTION --help: that action's)
  -V, --version          the version

Exit codes: 0 ok, 1 failure (or status: stale pid file), 2 bad usage,
3 status: not running, 4 status: pid file unreadable.
`;
}
