// `run` as exact as tini and dumb-init (#28): the signal state it was started with reaches the
// command, a signal in the first instant is forwarded, an inherited subreaper bit is honoured,
// `--signal-group` ends the child's group when the child exits, and the wrapper leaves the
// caller's directory. Each behaviour beside tini or dumb-init doing the same.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { BIN, RUNTIME, UNDER_BUN, sandbox, unavailable } from './helpers.js';

const TINI = ['/usr/bin/tini', '/usr/bin/tini-static'].find((p) => existsSync(p));
const DUMB_INIT = '/usr/bin/dumb-init';

function needs(t: Test, path: string | undefined, what: string): path is string {
  return (path !== undefined && existsSync(path)) || unavailable(t, what);
}

/**
 * `daemonocle run` as a user starts it: through the bin's launcher (its `#!/bin/sh` line, with
 * this runtime first on PATH). Under Bun, `bun BIN`: Bun keeps the inherited state itself.
 */
const daemonocleRun = (...args: string[]) => (UNDER_BUN ? [RUNTIME, BIN, 'run', ...args, '--'] : ['/bin/sh', BIN, 'run', ...args, '--']);
const PATH = `${dirname(RUNTIME)}${delimiter}${process.env.PATH ?? ''}`;

const SIG_LINES = ['grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status'];

t.test('signals inherited as ignored or blocked reach the command so, as under tini -s', async (t) => {
  if (!needs(t, TINI, 'tini (apt-get install tini) to compare with')) return;
  const box = sandbox(t);
  // nohup's HUP and a shell's `&` INT/QUIT ignored, and a mask, as a parent leaves them.
  const parent = ['env', '--ignore-signal=HUP,INT,QUIT', '--block-signal=USR1,WINCH'];
  const inParent = (argv: string[]) => execa(parent[0]!, [...parent.slice(1), ...argv], { env: { ...box.env, PATH }, extendEnv: false, reject: false, stdin: 'ignore' });
  const plain = (await inParent(SIG_LINES)).stdout;
  t.match(plain, /SigIgn:\s*0+7\b/, 'the plain child sees HUP, INT and QUIT ignored');
  for (const [label, wrapper] of [
    ['tini -s', [TINI, '-s', '--']],
    ['daemonocle run', daemonocleRun()],
    ['daemonocle run --signal-group', daemonocleRun('--signal-group')],
  ] as const) {
    const r = await inParent([...wrapper, ...SIG_LINES]);
    t.equal(r.exitCode, 0, `${label}: exit 0`);
    t.equal(r.stdout, plain, `${label}: the command sees what a plain child of the same parent sees`);
  }
  // Without anything inherited the command starts from the default state, as before.
  const r = await execa(daemonocleRun()[0]!, [...daemonocleRun().slice(1), ...SIG_LINES], { env: { ...box.env, PATH }, extendEnv: false, reject: false, stdin: 'ignore' });
  t.match(r.stdout, /SigBlk:\s*0+\nSigIgn:\s*0+$/, 'nothing inherited: nothing ignored or blocked');
});
