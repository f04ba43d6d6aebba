// The layout docs/architecture.md draws, checked on the source: every file in a folder named for
// its concern (only the package entry at src/'s root), no two files of one name, and each folder
// importing only the layers below it, so a change cannot quietly break the rules.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';

const SRC = join(import.meta.dirname ?? dirname(new URL(import.meta.url).pathname), '..', 'src');

/** What each folder may import besides itself: the table docs/architecture.md shows. */
const MAY_IMPORT: Record<string, string[]> = {
  base: [],
  process: ['base'],
  options: ['base'],
  pidfile: ['base', 'process'],
  systemd: ['base', 'process'],
  engine: ['base', 'process', 'pidfile', 'systemd'],
  actions: ['base', 'process', 'pidfile', 'systemd', 'engine', 'options'],
  library: ['base', 'process', 'pidfile', 'systemd', 'engine', 'options', 'actions'],
  cli: ['base', 'process', 'pidfile', 'systemd', 'engine', 'options', 'actions'],
  '.': ['library', 'base'],
};

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const files = sourceFiles().map((file) => relative(SRC, file));

/** The imports of a file that reach a folder its layer may not: `file imports spec` lines. */
function violationsOf(file: string, text: string): string[] {
  const folder = posix.dirname(file);
  const specs = [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs
    .filter((spec) => {
      const target = posix.dirname(posix.normalize(posix.join(folder, spec)));
      return target !== folder && !(MAY_IMPORT[folder] ?? []).includes(target);
    })
    .map((spec) => `${file} imports ${spec}`);
}

t.test('only the package entry lives at the root of src/', async (t) => {
  t.same(files.filter((file) => !file.includes('/')), ['index.ts']);
  t.same(
    files.map((file) => posix.dirname(file)).filter((folder) => !(folder in MAY_IMPORT)),
    [],
    'every folder is one of the layers docs/architecture.md names',
  );
});

t.test('no two source files share a name', async (t) => {
  const byName = new Map<string, string[]>();
  for (const file of files) byName.set(basename(file), [...(byName.get(basename(file)) ?? []), file]);
  t.same([...byName.values()].filter((same) => same.length > 1), []);
});

t.test('each layer imports only the layers below it', async (t) => {
  t.same(files.flatMap((file) => violationsOf(file, readFileSync(join(SRC, file), 'utf8'))), []);
});

t.test('the check catches an import that breaks the rules', async (t) => {
  t.same(violationsOf('engine/detach.ts', "import { parseArgv } from '../options/argv.js';"), [
    'engine/detach.ts imports ../options/argv.js',
  ]);
  t.same(violationsOf('base/log.ts', "const m = await import('../process/proc.js');"), ['base/log.ts imports ../process/proc.js']);
  t.same(violationsOf('pidfile/pidfile.ts', "import { a } from './directory.js';\nimport { b } from '../base/errors.js';"), []);
  for (const below of ['base', 'process', 'options', 'pidfile', 'systemd', 'engine']) {
    t.notOk(MAY_IMPORT[below]!.includes('actions'), `nothing below actions (${below}) calls an action`);
  }
});
