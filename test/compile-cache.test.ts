// The compile cache (Node 22.1+) lives only where no other user could write code into it.
import t from 'tap';
import { execa, execaSync } from 'execa';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BIN, requireRoot, RUNTIME, sandbox } from './helpers.js';

/** Whether the runtime under test (Node 22.1+, Bun) has module.enableCompileCache. */
const hasCompileCache = execaSync(RUNTIME, ['-e', 'process.stdout.write(typeof require("node:module").enableCompileCache)']).stdout === 'function';

const cli = (env: NodeJS.ProcessEnv) => execa(RUNTIME, [BIN, '--version'], { env, extendEnv: false, reject: false });

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
    const ro = await execa(RUNTIME, [BIN, '--version'], { env: { ...box.env, XDG_CACHE_HOME: place }, extendEnv: false, reject: false, timeout: 20_000 });
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
