// Help texts, generated from the option registry: `daemonocle --help`, `daemonocle ACTION --help`
// (exactly the options ACTION accepts), daemon.cli()'s help, and docs/cli.md's option table.
import { ACTIONS, type Action } from '../base/types.js';
import { acceptedBy, CLI_OPTIONS, defaultFor, defaultsSummary, groupByAction, helpLine, meaningFor, OPTIONS, type OptionDef } from './registry.js';

export const USAGE = `Usage: daemonocle <${ACTIONS.join('|')}> [options] [-- command [args...]]`;

const SUMMARY: Record<Action, { line: string; what: string }> = {
  start: { line: 'start CMD detached; OK only once it came up', what: 'Start CMD as a daemon and report whether it came up.' },
  stop: { line: 'send SIGTERM and wait for the exit (no SIGKILL unless --force)', what: 'Stop the daemon and wait for it to exit.' },
  restart: { line: 'stop if running, then start', what: 'Stop the daemon (if running), then start CMD.' },
  status: {
    line: "pid, state, uptime, %cpu and %mem of the daemon's process group",
    what: 'Show pid, state, uptime, %cpu and %mem of the daemon and its process group.',
  },
  reload: { line: 'send SIGHUP (or --reload-signal) to the daemon', what: 'Send the reload signal (SIGHUP) to the daemon; it does not wait.' },
  list: {
    line: 'every daemon in a pid directory: name, pid, state, uptime, %cpu, %mem',
    what: "List every daemon whose pid file is in the default pid directory (or --pid-dir), like pm2 ls.",
  },
  run: {
    line: 'run CMD in the foreground (systemd ExecStart=, container ENTRYPOINT)',
    what: 'Run CMD in the foreground: forward signals, reap orphans as PID 1, exit the way CMD did.',
  },
};

const COLUMN = 28;
const WIDTH = 100;

function flagText(o: OptionDef & { flag: string }): string {
  return o.arg === undefined ? `--${o.flag}` : `--${o.flag} ${o.arg}`;
}

/** Words to lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** One aligned help row, its text wrapped; a long flag gets its text on the next line. */
export function row(left: string, text: string): string {
  const indent = ' '.repeat(COLUMN);
  const [first, ...rest] = wrap(text, WIDTH - COLUMN);
  const head = left.length + 4 <= COLUMN ? `  ${left.padEnd(COLUMN - 2)}${first}` : `  ${left}\n${indent}${first}`;
  return [head, ...rest.map((l) => `${indent}${l}`)].join('\n');
}

/**
 * Help rows. For one action: its own meaning and default. Without one (the general help): the
 * meaning and default for each action (of `among`) that takes it.
 */
function optionRows(options: readonly (OptionDef & { flag: string })[], action?: Action, among?: readonly Action[]): string {
  return options
    .map((o) => {
      if (action !== undefined) return row(flagText(o), helpLine(o, action));
      const takers = o.actions.filter((a) => among === undefined || among.includes(a));
      const meanings = groupByAction(o, meaningFor, takers);
      if (meanings.length <= 1) return row(flagText(o), `${helpLine(o, undefined, takers)} [${takers.join(', ')}]`);
      // Read differently by some action: each one's meaning (and default, where it has one).
      const text = meanings
        .map(({ value, actions }) => {
          const shown = defaultsSummary(o, actions);
          return `${actions.join(', ')}: ${value}${shown === undefined ? '' : ` (default: ${shown})`}`;
        })
        .join('; ');
      return row(flagText(o), text);
    })
    .join('\n');
}

export function helpText(action: Action | undefined): string {
  if (action !== undefined) {
    const cmd = action === 'start' || action === 'restart' || action === 'run' ? ' -- CMD [ARGS...]' : '';
    return `Usage: daemonocle ${action} [options]${cmd}

${SUMMARY[action].what}

Options:
${optionRows(acceptedBy(action), action)}
${row('-h, --help', 'this help')}
`;
  }
  const width = Math.max(...ACTIONS.map((a) => a.length)) + 2;
  return `${USAGE}

Run any command as a well-behaved Unix daemon.

Actions:
${ACTIONS.map((a) => `  ${a.padEnd(width)}${SUMMARY[a].line}`).join('\n')}
  ${'help'.padEnd(width)}this help; help ACTION: that action's (as ACTION --help)

Options (each action takes only those its own --help lists):
${optionRows(CLI_OPTIONS)}
${row('-h, --help', 'this help (daemonocle ACTION --help, or help ACTION: that action\'s)')}
${row('-v, --version', 'the version')}

Exit codes: 0 ok, 1 failure (or status: stale pid file), 2 bad usage,
3 status: not running, 4 status: pid file unreadable.
`;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** One table cell: the text when every action reads it the same, else `start, restart: X<br>run: Y`. */
function perActionCell(o: OptionDef, of: (o: OptionDef, a: Action) => string | undefined, among?: readonly Action[]): string {
  const groups = groupByAction(o, of, among);
  if (groups.length <= 1) return cell(groups[0]?.value ?? '');
  return groups.map((g) => `${g.actions.join(', ')}: ${cell(g.value ?? 'none')}`).join('<br>');
}

/** docs/cli.md's option table (between its generated-table markers): each action's own meaning and default. */
export function markdownOptionTable(): string {
  const rows = CLI_OPTIONS.map((o) => {
    const flag = `\`${flagText(o)}\``;
    const library = o.library ? `\`${o.key}\`` : '';
    return `| ${flag} | ${o.actions.join(', ')} | ${perActionCell(o, meaningFor)} | ${perActionCell(o, defaultFor)} | ${library} |`;
  });
  const libraryOnly = OPTIONS.filter((o) => o.flag === undefined).map(
    (o) => `| | (library only) | ${cell(meaningFor(o))} | ${cell(o.shownDefault ?? '')} | \`${o.key}\` |`,
  );
  return ['| option | actions | meaning | default | library name |', '|---|---|---|---|---|', ...rows, ...libraryOnly].join('\n');
}
