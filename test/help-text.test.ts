// What the help and the docs say about each option, for each action, is what the option registry
// says (src/options/registry.ts: an option's meaning and default, and an action's own where it
// reads the option differently): `daemonocle ACTION --help` for every action, the general
// `--help`, docs/cli.md's option table, daemon.cli()'s `--help` and docs/library.md's table of
// cli()'s flags. The expectations are built here from the registry's data, not from the help
// code; the known truths (run writes no pid file unless asked, list --json is an array, a Daemon
// has no list) are written out as well, so a registry that drifts from the code fails too.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, libAppEnv, ROOT, sandbox } from './helpers.js';
import { OPTIONS } from '../dist/options/registry.js';

type Action = 'start' | 'stop' | 'restart' | 'status' | 'reload' | 'run' | 'list';
const ACTIONS: Action[] = ['start', 'stop', 'restart', 'status', 'reload', 'run', 'list'];
/** daemon.cli()'s built-in actions. */
const LIBRARY_ACTIONS: Action[] = ['start', 'stop', 'restart', 'status', 'reload', 'run'];

interface Def {
  key: string;
  flag?: string;
  arg?: string;
  actions: Action[];
  library: boolean;
  script: boolean;
  multiple?: boolean;
  shownDefault?: string;
  help: string;
  per?: Partial<Record<Action, { meaning?: string; default?: string }>>;
}
const DEFS = OPTIONS as unknown as Def[];
const CLI = DEFS.filter((o) => o.flag !== undefined);

/** The registry's word on one option for one action. */
function expected(o: Def, action: Action): { meaning: string; default: string | undefined } {
  const own = o.per?.[action];
  const meaning = own?.meaning ?? o.help;
  return { meaning: o.multiple ? `${meaning} (repeatable)` : meaning, default: own?.default ?? o.shownDefault };
}
const line = (e: { meaning: string; default: string | undefined }) => (e.default === undefined ? e.meaning : `${e.meaning} (default: ${e.default})`);

/** `--flag ARG` -> its help text, wrapped lines joined. */
function helpRows(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  let current: string | undefined;
  for (const l of text.split('\n')) {
    const head = /^ {2}(--[a-z-]+(?: \S+)?)(?: {2,}(.*))?$/.exec(l);
    if (head) {
      current = head[1]!.split(' ')[0]!;
      rows.set(current, head[2] ?? '');
    } else if (current !== undefined && /^ {28}\S/.test(l)) {
      rows.set(current, `${rows.get(current)} ${l.trim()}`.trim());
    } else {
      current = undefined;
    }
  }
  return rows;
}

/** A generated markdown table's rows (between `<!-- MARKER:begin ... -->` and `<!-- MARKER:end -->`) as cells. */
function tableRows(file: string, marker: string): string[][] {
  const doc = readFileSync(join(ROOT, 'docs', file), 'utf8');
  const m = new RegExp(`<!-- ${marker}:begin[^>]*-->\\n([\\s\\S]*?)\\n<!-- ${marker}:end -->`).exec(doc);
  if (!m) throw new Error(`docs/${file} has no ${marker} table`);
  return m[1]!
    .split('\n')
    .slice(2)
    .map((r) => r.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replaceAll('\\|', '|')));
}

/** A cell that is either one text for every action or `start, restart: X<br>run: Y`. */
function perActionCell(cell: string, actions: Action[]): Map<Action, string> {
  const byAction = new Map<Action, string>();
  const parts = cell.split('<br>');
  if (parts.length === 1) {
    for (const a of actions) byAction.set(a, cell);
    return byAction;
  }
  for (const part of parts) {
    const m = /^([a-z]+(?:, [a-z]+)*): (.*)$/.exec(part);
    if (!m) throw new Error(`cell part without its actions: ${part}`);
    for (const a of m[1]!.split(', ')) byAction.set(a as Action, m[2]!);
  }
  return byAction;
}

t.test('every ACTION --help: each option it takes, with its meaning and default for that action', async (t) => {
  const box = sandbox(t);
  for (const action of ACTIONS) {
    const r = await box.cli([action, '--help']);
    t.equal(r.exitCode, 0, `${action} --help`);
    const rows = helpRows(r.stdout);
    rows.delete('--help');
    const takes = CLI.filter((o) => o.actions.includes(action));
    t.same([...rows.keys()].sort(), takes.map((o) => `--${o.flag}`).sort(), `${action} --help lists what ${action} takes`);
    for (const o of takes) t.equal(rows.get(`--${o.flag}`), line(expected(o, action)), `${action} --help: --${o.flag}`);
  }
  // Written out: what the code does.
  const run = helpRows((await box.cli(['run', '--help'])).stdout);
  t.match(run.get('--pid-file'), /\(default: none\)$/, 'run writes no pid file unless asked');
  t.notMatch(run.get('--pid-file'), /daemonocle/, 'run --help shows no default pid file');
  t.match(run.get('--work-dir'), /\(default: the current directory\)$/);
  t.match(run.get('--stdout'), /\(default: inherited\)$/);
  t.match(helpRows((await box.cli(['list', '--help'])).stdout).get('--json'), /JSON array/);
  t.match(helpRows((await box.cli(['status', '--help'])).stdout).get('--json'), /one JSON object/);
  t.match(helpRows((await box.cli(['start', '--help'])).stdout).get('--work-dir'), /\(default: \/\)$/);
});

t.test('the general --help gives each action its own meaning and default where they differ', async (t) => {
  const box = sandbox(t);
  const rows = helpRows((await box.cli(['--help'])).stdout);
  for (const o of CLI) {
    const text = rows.get(`--${o.flag}`) ?? '';
    for (const a of o.actions) {
      const e = expected(o, a);
      t.ok(text.includes(e.meaning), `--help: --${o.flag}'s meaning for ${a}`);
      if (e.default !== undefined) t.ok(text.includes(e.default), `--help: --${o.flag}'s default for ${a}`);
    }
  }
  t.match(rows.get('--work-dir'), /run: working directory of the command \(default: the current directory\)/);
  t.match(rows.get('--json'), /list: a JSON array/);
});

t.test("docs/cli.md's table: each option's actions, and its meaning and default for each", async (t) => {
  const rows = tableRows('cli.md', 'options');
  const cliRows = rows.filter((r) => r[0] !== '');
  t.same(cliRows.map((r) => r[0]!.replaceAll('`', '').split(' ')[0]), CLI.map((o) => `--${o.flag}`), 'one row per CLI option');
  t.same(rows[0]!.length, 5, 'columns: option, actions, meaning, default, library name');
  for (const r of cliRows) {
    const flag = r[0]!.replaceAll('`', '').split(' ')[0]!;
    const o = CLI.find((d) => `--${d.flag}` === flag)!;
    t.same(r[1]!.split(', '), o.actions, `${flag}: its actions`);
    const meanings = perActionCell(r[2]!, o.actions);
    const defaults = perActionCell(r[3]!, o.actions);
    for (const a of o.actions) {
      const e = expected(o, a);
      t.equal(meanings.get(a), e.meaning, `${flag}: meaning for ${a}`);
      t.equal(defaults.get(a) || undefined, e.default, `${flag}: default for ${a}`);
    }
    t.equal(r[4], o.library ? `\`${o.key}\`` : '', `${flag}: library name`);
  }
  const cell = (flag: string, column: number, action: Action) =>
    perActionCell(cliRows.find((r) => r[0]!.startsWith(`\`--${flag}`))![column]!, ['start', 'restart', 'run', 'status', 'list']).get(action);
  t.equal(cell('work-dir', 3, 'run'), 'the current directory');
  t.equal(cell('work-dir', 3, 'start'), '/');
  t.equal(cell('stdout', 3, 'run'), 'inherited');
  t.equal(cell('pid-file', 3, 'run'), 'none');
  t.match(cell('json', 2, 'list'), /JSON array/);
});

t.test("daemon.cli()'s --help and docs/library.md: its flags, the built-in actions taking each, meaning and default", async (t) => {
  const box = sandbox(t);
  const flags = CLI.filter((o) => o.script);
  const want = (o: Def) => ({
    actions: o.actions.filter((a) => LIBRARY_ACTIONS.includes(a)),
    meaning: o.multiple ? `${o.help} (repeatable)` : o.help,
    default: o.library ? `the Daemon's ${o.key}` : o.shownDefault,
  });

  const help = await box.node(fixture('lib-app.js'), ['--help'], { env: libAppEnv(box) });
  t.equal(help.exitCode, 0);
  const rows = helpRows(help.stdout);
  rows.delete('--help');
  t.same([...rows.keys()], flags.map((o) => `--${o.flag}`), "cli()'s --help lists its flags");
  for (const o of flags) {
    const w = want(o);
    t.equal(rows.get(`--${o.flag}`), `${line(w)} [${w.actions.join(', ')}]`, `cli() --help: --${o.flag}`);
  }
  t.match(rows.get('--json'), /\[status\]$/, 'a Daemon has no list');

  const table = tableRows('library.md', 'cli-flags');
  t.same(table.map((r) => r[0]!.replaceAll('`', '').split(' ')[0]), flags.map((o) => `--${o.flag}`), "docs/library.md lists cli()'s flags");
  for (const r of table) {
    const o = flags.find((d) => r[0] === `\`--${d.flag}${d.arg === undefined ? '' : ` ${d.arg}`}\``)!;
    const w = want(o);
    t.same(r[1]!.split(', '), w.actions, `library.md: --${o.flag}'s actions`);
    t.equal(r[2], w.meaning, `library.md: --${o.flag}'s meaning`);
    t.equal(r[3] || undefined, w.default, `library.md: --${o.flag}'s default`);
  }
  const doc = readFileSync(join(ROOT, 'docs', 'library.md'), 'utf8');
  for (const o of DEFS.filter((d) => d.library)) t.ok(doc.includes(`\`${o.key}\``), `library.md's option table has ${o.key}`);
});
