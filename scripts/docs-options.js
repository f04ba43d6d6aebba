// Rewrites docs/cli.md's option table from the option registry (npm run docs:options).
// test/options.test.ts fails while the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { markdownOptionTable } from '../dist/options/help.js';

const path = new URL('../docs/cli.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const marked = /(<!-- options:begin[^>]*-->\n)[\s\S]*?(\n<!-- options:end -->)/;
if (!marked.test(doc)) throw new Error('docs/cli.md has no <!-- options:begin --> ... <!-- options:end --> block');
writeFileSync(path, doc.replace(marked, (_, begin, end) => `${begin}${markdownOptionTable()}${end}`));
