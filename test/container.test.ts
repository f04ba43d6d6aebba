// The docker/ example, built and run under a real container engine (rootful Podman), as a user
// runs `docker build` / `docker run` / `docker stop`.
import t from 'tap';
import { existsSync } from 'node:fs';
import { ROOT, unavailable } from './helpers.js';
import { BASE_IMAGE, podman, prepareEngine } from './container-harness.js';

// A fresh machine builds the base image first (debootstrap): allow for it.
t.setTimeout(15 * 60_000);

const IMAGE = `localhost/daemonocle-example:test-${process.pid}`;
const containers: string[] = [];
const name = (label: string) => {
  const n = `dtest-${process.pid}-${label}`;
  containers.push(n);
  return n;
};

function canRunContainers(): boolean {
  const missing = process.getuid?.() !== 0 ? 'root' : !existsSync('/usr/bin/apt-get') ? 'apt-get (to install podman)' : undefined;
  if (missing === undefined) return true;
  return unavailable(t, missing);
}

async function exitCodeOf(container: string): Promise<number> {
  await podman(['wait', container], { reject: false });
  return Number((await podman(['inspect', container, '--format', '{{.State.ExitCode}}'])).stdout.trim());
}

if (canRunContainers()) {
  t.before(async () => {
    await prepareEngine((line) => t.comment(line));
    await podman(['build', '--network', 'none', '--format', 'docker', '-f', 'docker/Dockerfile', '--build-arg', `BASE=${BASE_IMAGE}`, '-t', IMAGE, ROOT], { timeout: 300_000 });
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
    await podman(['stop', '-t', '10', c]);
  });
}

async function waitForLog(container: string, text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const logs = await podman(['logs', container], { reject: false });
    if (String(logs.all ?? '').includes(text)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for '${text}' in ${container}'s logs`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
