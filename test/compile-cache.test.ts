// The compile cache (Node 22.1+) lives only where no other user could write code into it.
import t from 'tap';
import type { Test } from 'tap';
import { execa, execaSync, type Options } from 'execa';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BIN, requireRoot, RUNTIME, sandbox } from './helpers.js';

/** Whether the runtime under test (Node 22.1+, Bun) has module.enableCompileCache. */
const hasCompileCache = execaSync(RUNTIME, ['-e', 'process.stdout.write(typeof require("node:module").enableCompileCache)']).stdout === 'function';

/** `daemonocle --version` in exactly env (not the sandbox's: some tests take variables out). */
const cli = (env: NodeJS.ProcessEnv, options: Options = {}) => execa(RUNTIME, [BIN, '--version'], { env, extendEnv: false, reject: false, ...options });

/** The CLI run under umask 000, where every mkdir without an explicit mode makes 0777. */
const cliUmask000 = (env: NodeJS.ProcessEnv) => execa('sh', ['-c', 'umask 000; exec "$@"', 'sh', RUNTIME, BIN, '--version'], { env, extendEnv: false, reject: false });

/** A fresh directory under the caller's own home (/tmp, where the sandbox lives, is writable by everyone). */
function homeScratch(t: Test): string {
  const dir = mkdtempSync(join(homedir(), '.daemonocle-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every path under dir (dir included), with its permission bits. */
function tree(dir: string): Array<[string, number]> {
  const out: Array<[string, number]> = [[dir, lstatSync(dir).mode & 0o7777]];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out.push(...(lstatSync(path).isDirectory() ? tree(path) : [[path, lstatSync(path).mode & 0o7777] as [string, number]]));
  }
  return out;
}

t.test('the cache goes to $XDG_CACHE_HOME/daemonocle, 0700, when this Node has one', async (t) => {
  const box = sandbox(t);
  // Under the caller's own home: /tmp, where the sandbox lives, is writable by everyone.
  const cache = mkdtempSync(join(homedir(), '.daemonocle-test-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  const r = await cli({ ...box.env, XDG_CACHE_HOME: cache });
  t.equal(r.exitCode, 0);
  if (!hasCompileCache) {
    t.notOk(existsSync(join(cache, 'daemonocle')), `${RUNTIME} has no compile cache: nothing made`);
    return;
  }
  const dir = join(cache, 'daemonocle');
  t.equal(statSync(dir).mode & 0o777, 0o700, 'private');
  t.ok(readdirSync(dir).length > 0, 'filled');
});

t.test('no cache, and no error, with no home, a read-only place, or a directory others can write', async (t) => {
  const box = sandbox(t);
  const noHome = { ...box.env };
  delete noHome.HOME;
  delete noHome.XDG_CACHE_HOME;
  t.equal((await cli(noHome)).stderr, '', 'no HOME: silent');
  const shared = join(box.dir, 'shared');
  mkdirSync(shared, { mode: 0o777 });
  // mkdirSync applies the umask: make it really world-writable.
  await execa('chmod', ['0777', shared]);
  const r = await cli({ ...box.env, XDG_CACHE_HOME: shared });
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, '');
  t.notOk(existsSync(join(shared, 'daemonocle')), 'nothing made under a world-writable directory');
  for (const place of ['/proc/self', '/proc/1', '/proc/1/nonexistent']) {
    // (Node 22's recursive mkdirSync spins forever on /proc: the cache must never ask it to.)
    const ro = await cli({ ...box.env, XDG_CACHE_HOME: place }, { timeout: 20_000 });
    t.equal(ro.exitCode, 0, `an unwritable place (${place}) costs nothing`);
    t.equal(ro.stderr, '');
  }
});

t.test("as root, another user's home is never used", async (t) => {
  if (!requireRoot(t)) return;
  const box = sandbox(t);
  const home = join(box.dir, 'alice');
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, 4242, 4242);
  const env: NodeJS.ProcessEnv = { ...box.env, HOME: home };
  // Unset, not empty: Bun reads an empty XDG_CACHE_HOME as a relative path for its own cache.
  delete env.XDG_CACHE_HOME;
  const r = await cli(env);
  t.equal(r.exitCode, 0);
  // (Bun keeps its own cache in ~/.bun; this is about daemonocle's.)
  t.notOk(existsSync(join(home, '.cache')), 'no cache made in it');
});

t.test('under umask 000, nothing in the cache is group- or other-writable (Node makes its version subdirectory 0777 less the umask)', async (t) => {
  const box = sandbox(t);
  const cache = homeScratch(t);
  const r = await cliUmask000({ ...box.env, XDG_CACHE_HOME: cache });
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, '');
  const dir = join(cache, 'daemonocle');
  if (!hasCompileCache) {
    t.notOk(existsSync(dir), `${RUNTIME} has no compile cache: nothing made`);
    return;
  }
  const entries = tree(dir);
  t.ok(entries.slice(1).some(([path]) => lstatSync(path).isDirectory()), 'Node made its subdirectory');
  for (const [path, mode] of entries) t.equal(mode & 0o022, 0, `${path.slice(cache.length)}: ${mode.toString(8)}, no group or other write`);
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the cache directory itself 0700');
});

t.test('an existing cache directory with group or other bits (0755) is not used: nothing written into it', async (t) => {
  const box = sandbox(t);
  const cache = homeScratch(t);
  const dir = join(cache, 'daemonocle');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const r = await cli({ ...box.env, XDG_CACHE_HOME: cache });
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, '', 'silently: the cache is only a speed-up');
  t.same(readdirSync(dir), [], 'still empty');
  t.equal(statSync(dir).mode & 0o777, 0o755, 'and left as it was');
});

t.test('a version subdirectory an older daemonocle left 0777 is made 0700 before use', async (t) => {
  const box = sandbox(t);
  const cache = homeScratch(t);
  const dir = join(cache, 'daemonocle');
  mkdirSync(dir, { mode: 0o700 });
  const old = join(dir, 'v0.0.0-old');
  mkdirSync(old);
  chmodSync(old, 0o777);
  const r = await cli({ ...box.env, XDG_CACHE_HOME: cache });
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, '');
  if (!hasCompileCache) {
    t.equal(statSync(old).mode & 0o777, 0o777, `${RUNTIME} has no compile cache: untouched`);
    return;
  }
  t.equal(statSync(old).mode & 0o777, 0o700, 'tightened');
  t.ok(readdirSync(dir).length > 1, 'and the cache used');
});

t.test("an entry in the cache that is not the caller's own directory: the cache is not used", async (t) => {
  const box = sandbox(t);
  const cache = homeScratch(t);
  const dir = join(cache, 'daemonocle');
  mkdirSync(dir, { mode: 0o700 });
  const foreign = join(dir, 'v0.0.0-foreign');
  mkdirSync(foreign, { mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(foreign, 4242, 4242);
  else {
    rmSync(foreign, { recursive: true });
    // Not root: a symlink stands for the entry nobody should follow.
    symlinkSync('/tmp', foreign);
  }
  const r = await cli({ ...box.env, XDG_CACHE_HOME: cache });
  t.equal(r.exitCode, 0);
  t.equal(r.stderr, '');
  t.same(readdirSync(dir), ['v0.0.0-foreign'], 'nothing else written');
});
