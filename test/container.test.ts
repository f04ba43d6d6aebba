// The docker/ example, built and run under a real container engine (rootful Podman), as a user
// runs `docker build` / `docker run` / `docker stop`.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { canRunContainers, pinnedBase, podman, prepareEngine, waitForLog } from './container-harness.js';

// A fresh machine builds the base image first (debootstrap): allow for it.
t.setTimeout(15 * 60_000);

const IMAGE = `localhost/daemonocle-example:test-${process.pid}`;
const containers: string[] = [];
const name = (label: string) => {
  const n = `dtest-${process.pid}-${label}`;
  containers.push(n);
  return n;
};

async function exitCodeOf(container: string): Promise<number> {
  await podman(['wait', container], { reject: false });
  return Number((await podman(['inspect', container, '--format', '{{.State.ExitCode}}'])).stdout.trim());
}

// What the Dockerfile says, checked without an engine: the app is not root, the base is pinned.
t.test('docker/Dockerfile: a numeric non-root USER, a base pinned to an exact release', async (t) => {
  const text = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  const users = [...text.matchAll(/^USER\s+(\S+)\s*$/gm)].map((m) => m[1]);
  t.same(users, ['10001:10001'], 'one USER, uid:gid numeric (runAsNonRoot can verify it), not 0');
  const base = /^ARG BASE=(\S+)\s*$/m.exec(text)?.[1] ?? '';
  t.match(base, /^node:\d+\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/, `default base ${base}: an exact Node release, not a moving tag`);
  t.match(text, /^FROM \$\{BASE\}$/m, 'FROM that ARG');
});

if (canRunContainers(t)) {
  t.before(async () => {
    await prepareEngine((line) => t.comment(line));
    await podman(['build', '--network', 'none', '--format', 'docker', '-f', 'docker/Dockerfile', '--build-arg', `BASE=${await pinnedBase()}`, '-t', IMAGE, ROOT], { timeout: 300_000 });
  });
  t.teardown(async () => {
    if (containers.length > 0) await podman(['rm', '-f', '-t', '0', ...containers], { reject: false });
    await podman(['rmi', '-f', IMAGE], { reject: false });
  });

  t.test('the exit code passes through: exit 7 -> 7', async (t) => {
    const r = await podman(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'exit 7'], { reject: false });
    t.equal(r.exitCode, 7);
  });

  t.test('a Node app with no TERM handler: podman stop is quick (143) behind daemonocle, 10 s and SIGKILL (137) without', async (t) => {
    const app = ['node', '-e', 'setInterval(() => {}, 1000); console.log("up")'];
    const wrapped = name('wrapped');
    await podman(['run', '-d', '--name', wrapped, '--network', 'none', IMAGE, ...app]);
    await waitForLog(wrapped, 'up');
    let t0 = Date.now();
    await podman(['stop', '-t', '10', wrapped]);
    const wrappedMs = Date.now() - t0;
    t.ok(wrappedMs < 5000, `stopped in ${wrappedMs} ms, long before the 10 s timeout`);
    t.equal(await exitCodeOf(wrapped), 143);

    const bare = name('bare');
    await podman(['run', '-d', '--name', bare, '--network', 'none', '--entrypoint', 'node', IMAGE, ...app.slice(1)]);
    await waitForLog(bare, 'up');
    t0 = Date.now();
    await podman(['stop', '-t', '10', bare], { reject: false });
    const bareMs = Date.now() - t0;
    t.ok(bareMs >= 10_000, `without the wrapper: the whole timeout (${bareMs} ms)`);
    t.equal(await exitCodeOf(bare), 137, 'ended by SIGKILL');

    // For comparison: podman's own --init (catatonit) in front of the bare app.
    const init = name('init');
    await podman(['run', '-d', '--init', '--name', init, '--network', 'none', '--entrypoint', 'node', IMAGE, ...app.slice(1)]);
    await waitForLog(init, 'up');
    t0 = Date.now();
    await podman(['stop', '-t', '10', init]);
    const initMs = Date.now() - t0;
    t.ok(initMs < 5000, `with --init (catatonit): ${initMs} ms`);
    t.equal(await exitCodeOf(init), 143);
    t.comment(`podman stop -t 10: ${wrappedMs} ms with daemonocle, ${initMs} ms with --init, ${bareMs} ms without`);
  });

  t.test('a child that traps TERM and exits 0 stops cleanly with 0', async (t) => {
    const c = name('trap');
    await podman(['run', '-d', '--name', c, '--network', 'none', IMAGE, 'sh', '-c', 'trap "exit 0" TERM; echo up; while :; do sleep 0.1; done']);
    await waitForLog(c, 'up');
    await podman(['stop', '-t', '10', c]);
    t.equal(await exitCodeOf(c), 0);
  });

  t.test('podman kill --signal HUP reaches the child', async (t) => {
    const c = name('hup');
    await podman(['run', '-d', '--name', c, '--network', 'none', IMAGE, 'node', '-e',
      'process.on("SIGHUP", () => console.log("got SIGHUP")); console.log("up"); setInterval(() => {}, 1000)']);
    await waitForLog(c, 'up');
    await podman(['kill', '--signal', 'HUP', c]);
    await waitForLog(c, 'got SIGHUP');
    t.pass('the child logged the HUP');
  });

  t.test('orphans: 30 orphaned grandchildren leave 0 zombies 1.5 s later', async (t) => {
    const c = name('orphans');
    const leaveOrphans = `require("child_process").spawn("sh", ["-c", "for i in $(seq 30); do sleep 0.2 & done"], { stdio: "ignore" }); console.log("orphaned"); setInterval(() => {}, 1000)`;
    await podman(['run', '-d', '--name', c, '--network', 'none', IMAGE, 'node', '-e', leaveOrphans]);
    await waitForLog(c, 'orphaned');
    await new Promise((r) => setTimeout(r, 1500));
    const zombies = async (container: string) =>
      Number((await podman(['exec', container, 'sh', '-c', 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l'])).stdout.trim());
    t.equal(await zombies(c), 0, 'zero zombies in the container');
    await podman(['stop', '-t', '10', c]);

    // The same app as PID 1 without daemonocle: Node reaps only its own children.
    const bare = name('orphans-bare');
    await podman(['run', '-d', '--name', bare, '--network', 'none', '--entrypoint', 'node', IMAGE, '-e', leaveOrphans]);
    await waitForLog(bare, 'orphaned');
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(await zombies(bare), 30, 'without the wrapper: 30 zombies');
    await podman(['kill', bare], { reject: false });
  });

  t.test('the HEALTHCHECK (daemonocle status) reports healthy while the app runs', async (t) => {
    const c = name('health');
    await podman(['run', '-d', '--name', c, '--network', 'none', IMAGE]);
    await waitForLog(c, 'listening');
    const health = await podman(['healthcheck', 'run', c], { reject: false });
    t.equal(health.exitCode, 0, `healthy (${health.stdout.trim()})`);
    const status = await podman(['exec', c, 'daemonocle', 'status', '--name', 'app', '--pid-file', '/run/daemonocle/app.pid']);
    t.match(status.stdout, /^app -- pid: 1, status: \w+, uptime: /);
    // Not root: the image's USER, the wrapper (PID 1) and the app (its child), and the pid file.
    t.equal((await podman(['image', 'inspect', IMAGE, '--format', '{{.Config.User}}'])).stdout.trim(), '10001:10001', 'the image USER');
    const ids = await podman(['exec', c, 'sh', '-c',
      'app=$(cat /proc/1/task/*/children); for p in 1 $app; do grep -E "^(Uid|Gid):" /proc/$p/status | tr -s "\t" " "; done; stat -c "%u:%g %a" /run/daemonocle /run/daemonocle/app.pid']);
    t.equal(ids.stdout, 'Uid: 10001 10001 10001 10001\nGid: 10001 10001 10001 10001\n'.repeat(2) + '10001:10001 755\n10001:10001 644',
      'PID 1 and the app run as 10001:10001 (real, effective, saved, fs), in their own pid directory');
    await podman(['stop', '-t', '10', c]);
  });
}
