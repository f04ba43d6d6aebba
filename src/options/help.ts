// Help texts, generated from the option registry: `daemonocle --help`, `daemonocle ACTION --help`
// (exactly the options ACTION accepts), daemon.cli()'s help, and docs/cli.md's option table.
import { ACTIONS, type Action } from '../base/types.js';
import { ACTION_TABLE } from './action-table.js';
import { acceptedBy, CLI_OPTIONS, defaultFor, defaultsSummary, groupByAction, helpLine, meaningFor, OPTIONS, type OptionDef } from './registry.js';

export const USAGE = `Usage: daemonocle <${ACTIONS.join('|')}> [options] [-- command [args...]]`;

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
    const cmd = ACTION_TABLE[action].command ? ' -- CMD [ARGS...]' : '';
    return `Usage: daemonocle ${action} [options]${cmd}

${ACTION_TABLE[action].what}

Options:
${optionRows(acceptedBy(action), action)}
${row('-h, --help', 'this help')}
`;
  }
  const width = Math.max(...ACTIONS.map((a) => a.length)) + 2;
  return `${USAGE}

Run any command as a well-behaved Unix daemon.

Actions:
${ACTIONS.map((a) => `  ${a.padEnd(width)}${ACTION_TABLE[a].line}`).join('\n')}
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
  const libraryOnly = (OPTIONS as readonly OptionDef[]).filter((o) => o.flag === undefined).map(
    (o) => `| | (library only) | ${cell(meaningFor(o))} | ${cell(o.shownDefault ?? '')} | \`${o.key}\` |`,
  );
  return ['| option | actions | meaning | default | library name |', '|---|---|---|---|---|', ...rows, ...libraryOnly].join('\n');
}
