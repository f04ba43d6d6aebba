// The README's option table and docs/library.md's table of Daemon options are written by hand (they
// say more than a help line), so they are held to the option registry here: each names every option
// it should, once, spelled as the registry spells it (a CLI option as `--flag ARG`, a Daemon option
// by its key), and nothing else. docs/cli.md's table and the help texts are generated and held to
// the registry by test/help-text.test.ts. And a Daemon's workDir is checked as --work-dir is.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { OPTIONS } from '../dist/options/registry.js';
import { Daemon } from '../dist/index.js';

interface Def {
  key: string;
  flag?: string;
  arg?: string;
  library: boolean;
}
const DEFS = OPTIONS as unknown as Def[];

/** The first column of the markdown table whose header row starts with `header`, split at its commas. */
function firstColumn(file: string, header: string): string[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(header));
  if (at < 0) throw new Error(`${file} has no table headed ${header}`);
  const names: string[] = [];
  for (const l of lines.slice(at + 2)) {
    if (!l.startsWith('|')) break;
    const cell = l.split(/(?<!\\)\|/)[1]!.trim();
    names.push(...cell.split(/`,\s*`/).map((n) => n.replaceAll('`', '').trim()));
  }
  return names;
}

t.test("the README's option table: every CLI option once, as --flag ARG", async (t) => {
  const names = firstColumn('README.md', '| option | meaning | default |');
  const cli = DEFS.filter((o) => o.flag !== undefined).map((o) => (o.arg === undefined ? `--${o.flag}` : `--${o.flag} ${o.arg}`));
  t.same([...names].sort(), [...cli].sort());
  t.equal(new Set(names).size, names.length, 'no option twice');
});

t.test("docs/library.md's options table: every Daemon option once, by its key, in the registry's order", async (t) => {
  const names = firstColumn('docs/library.md', '| option | type | meaning | default |');
  t.same(names, DEFS.filter((o) => o.library).map((o) => o.key));
});

t.test("a Daemon's workDir must be an existing directory, as --work-dir must", async (t) => {
  t.throws(() => new Daemon({ workDir: '/no/such/dir' }), new TypeError("Daemon option 'workDir' must be an existing directory, got '/no/such/dir' (string)"));
  t.throws(() => new Daemon({ workDir: '/etc/passwd' }), TypeError);
  t.doesNotThrow(() => new Daemon({ workDir: '/tmp' }));
});
