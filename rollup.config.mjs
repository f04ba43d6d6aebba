// The CLI as CommonJS chunks: one entry, one chunk per action, shared code in a few more.
// Measured with `npm run bench` on Node 20: node loads some 25 small ES modules about 15 ms
// slower than these chunks (the ESM loader resolves, links and evaluates each one
// asynchronously; require() does not). The library (dist/index.js) stays the ES modules tsc writes.
//
// The chunks live one directory under dist/, as tsc's own output does, so the paths the code
// builds from its own location (`../../sh/session-leader.sh`, `../../package.json`) still hold.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinModules } from 'node:module';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const external = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), ...Object.keys(pkg.dependencies)]);

/** import.meta.url as CommonJS knows it, without rollup's browser fallback. */
const importMetaUrl = {
  name: 'import-meta-url',
  resolveImportMeta(property) {
    return property === 'url' ? "require('node:url').pathToFileURL(__filename).href" : null;
  },
};

/**
 * The bin starts in /bin/sh, which records the signals it was started with ignored and blocked
 * before exec'ing node (Node resets both as it boots; src/engine/inherited-signals.ts). The line
 * is a string and a comment to JavaScript; to sh, `:` and then the script. Builtins only: no fork.
 */
const LAUNCHER =
  "#!/bin/sh\n':' //; while read -r k v; do case $k in SigBlk:) b=$v;; SigIgn:) DAEMONOCLE_INHERITED_SIGNALS=\"$v $b\"; " +
  'export DAEMONOCLE_INHERITED_SIGNALS; break;; esac; done 2>/dev/null </proc/self/status; exec node "$0" "$@"\n';

const launcher = {
  name: 'sh-launcher',
  renderChunk(code, chunk) {
    if (!chunk.isEntry) return null;
    if (!code.startsWith('#!/usr/bin/env node\n')) throw new Error('the CLI entry must start with #!/usr/bin/env node');
    return { code: LAUNCHER + code.slice('#!/usr/bin/env node\n'.length), map: null };
  },
  // Runnable from a clone as npm makes it when installed.
  writeBundle(options, bundle) {
    for (const chunk of Object.values(bundle)) if (chunk.type === 'chunk' && chunk.isEntry) chmodSync(join(options.dir, chunk.fileName), 0o755);
  },
};

/** Modules the entry's chunk holds beside bin.js: the compile cache must be on before any action loads. */
const ENTRY_COMPANIONS = ['dist/cli/compile-cache.js', 'dist/cli/make-dirs.js', 'dist/engine/inherited-signals.js'];
for (const file of ENTRY_COMPANIONS) {
  if (!existsSync(new URL(`./${file}`, import.meta.url))) throw new Error(`rollup.config.mjs names ${file}, which tsc did not write: update ENTRY_COMPANIONS`);
}
const companionIds = new Set(ENTRY_COMPANIONS.map((file) => new URL(`./${file}`, import.meta.url).pathname));

export default {
  input: { daemonocle: 'dist/cli/bin.js' },
  external: (id) => external.has(id) || [...external].some((dep) => id.startsWith(`${dep}/`)),
  plugins: [importMetaUrl, launcher],
  output: {
    dir: 'dist/bin',
    format: 'cjs',
    entryFileNames: '[name].cjs',
    chunkFileNames: '[name].cjs',
    generatedCode: 'es2015',
    // The entry holds bin.ts alone: a chunk that shares code with it would otherwise require the
    // entry itself, and running the CLI is all the entry does.
    manualChunks: (id) => (companionIds.has(id) ? 'compile-cache' : undefined),
  },
};
