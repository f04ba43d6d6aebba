// `npm run demo`, `npm test` (pretest), bench, soak and docs:options build through this script:
// it runs `npm run build` only when an input changed after the last complete build, so
// `npm ci && npm run demo && npm test` builds once, not twice (8 s each on this machine).
//
// Inputs: everything under src/ (files and directories: a deleted file changes its directory's
// mtime), tsconfig.json, rollup.config.mjs and package.json (rollup reads its dependencies).
// The last complete build is the mtime of dist/bin/daemonocle.cjs, which rollup writes last: a
// build that failed half way leaves it older than the inputs, so the next run builds again.
// `npm run build` always builds.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const INPUTS = ['src', 'tsconfig.json', 'rollup.config.mjs', 'package.json'];

function newest(path) {
  const st = statSync(path);
  let latest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

/** Why the checkout at root needs a build, or undefined when dist/ is newer than every input. */
export function staleReason(root) {
  let built;
  try {
    built = statSync(join(root, 'dist', 'bin', 'daemonocle.cjs')).mtimeMs;
  } catch {
    return 'dist/ has no complete build';
  }
  for (const input of INPUTS) {
    if (newest(join(root, input)) > built) return `${input} changed since the last build`;
  }
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const reason = staleReason(root);
  if (reason === undefined) {
    process.stderr.write('dist/ is up to date (npm run build forces a build)\n');
  } else {
    process.stderr.write(`building: ${reason}\n`);
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    process.exitCode = build.status ?? 1;
  }
}
