// Rewrites the option tables generated from the option registry (npm run docs:options):
// docs/cli.md's (every CLI option, each action's own meaning and default) and docs/library.md's
// (daemon.cli()'s flags). test/options.test.ts and test/help-text.test.ts fail while they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { markdownOptionTable } from '../dist/options/help.js';
import { markdownLibraryFlagTable } from '../dist/library/daemon-cli.js';

function rewrite(file, marker, table) {
  const path = new URL(`../docs/${file}`, import.meta.url);
  const doc = readFileSync(path, 'utf8');
  const marked = new RegExp(`(<!-- ${marker}:begin[^>]*-->\\n)[\\s\\S]*?(\\n?<!-- ${marker}:end -->)`);
  if (!marked.test(doc)) throw new Error(`docs/${file} has no <!-- ${marker}:begin --> ... <!-- ${marker}:end --> block`);
  writeFileSync(path, doc.replace(marked, (_, begin) => `${begin}${table}\n<!-- ${marker}:end -->`));
}

rewrite('cli.md', 'options', markdownOptionTable());
rewrite('library.md', 'cli-flags', markdownLibraryFlagTable());
