// Ordinary users for the attacker tests: raw uids (no passwd entry needed) run through setpriv,
// with a node and a build they can read. When the checkout or the node binary sits where other
// users cannot reach it (a clone under /root, a Node line cached there), a readable copy is made.
import { execa } from 'execa';
import { accessSync, chmodSync, constants, copyFileSync, cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { Test } from 'tap';
import { BIN, ROOT, RUNTIME, unavailable, type Result } from './helpers.js';

/** Whether a user other than the owner can reach path: o+x on every directory above it, and `bits` on it. */
function othersCan(path: string, bits: number): boolean {
  if ((statSync(path).mode & bits) !== bits) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === '/') return true;
  }
}

export interface Install {
  node: string;
  bin: string;
}

/** The runtime (node, or bun) and the CLI (BIN) that any user can run: the real ones when reachable, else a copy. */
export function installForOthers(t: Test): Install {
  const nodeOk = othersCan(RUNTIME, 0o005);
  const binOk = othersCan(BIN, 0o004) && othersCan(join(ROOT, 'node_modules', 'koffi', 'package.json'), 0o004);
  if (nodeOk && binOk) return { node: RUNTIME, bin: BIN };
  const dir = mkdtempSync('/tmp/daemonocle-install-');
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let node = RUNTIME;
  if (!nodeOk) {
    node = join(dir, basename(RUNTIME));
    copyFileSync(RUNTIME, node);
    chmodSync(node, 0o755);
  }
  let bin = BIN;
  if (!binOk) {
    for (const part of ['package.json', 'dist', 'sh', 'node_modules/koffi', 'node_modules/signal-exit']) {
      cpSync(join(ROOT, part), join(dir, 'pkg', part), { recursive: true });
    }
    bin = join(dir, 'pkg', relative(ROOT, BIN));
  }
  return { node, bin };
}

/** Two consecutive raw uids, drawn at random from a range no account on these machines uses. */
export function freshUids(): [number, number] {
  const base = 40000 + Math.floor(Math.random() * 20000) * 2;
  return [base, base + 1];
}

/**
 * Runs argv as uid (gid = uid, no supplementary groups) with exactly env: through env -i, since
 * tap adds its own hooks to every child's environment, and they would write into the checkout.
 */
export async function asUser(uid: number, argv: string[], env: NodeJS.ProcessEnv, cwd = '/'): Promise<Result> {
  const vars = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const r = await execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', 'env', '-i', ...vars, ...argv], {
    env, extendEnv: false, reject: false, stripFinalNewline: false, stdin: 'ignore', cwd, timeout: 60_000,
  });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
}

/** Fails under CI when the harness cannot work; the caller skips otherwise. */
export function canSwitchUsers(t: Test): boolean {
  try {
    accessSync('/usr/bin/setpriv', constants.X_OK);
  } catch {
    return unavailable(t, 'setpriv (util-linux)');
  }
  return true;
}
