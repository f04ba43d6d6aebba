// kubernetes/deployment.yaml, played as shipped by `podman kube play` (rootful Podman; the docker/
// image built registry-free and tagged as the manifest names it): daemonocle run is the pod's
// PID 1, the liveness probe is `daemonocle status`, the security context holds (a non-root user, a
// read-only root, no capabilities, the pid file in the emptyDir), orphans are reaped, and a pod
// stop runs the app's TERM handler well inside the grace period. The manifest itself passes each
// control of the Pod Security Standards' "restricted" profile, read from the file (no engine).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { canRunContainers, pinnedBase, podman, prepareEngine, waitForLog } from './container-harness.js';
import { CONTROLS, podOf } from './pod-security.js';
import { parseYaml } from './yaml-lite.js';

// A fresh machine builds the base image first (debootstrap): allow for it.
t.setTimeout(15 * 60_000);

const MANIFEST = join(ROOT, 'kubernetes', 'deployment.yaml');
const IMAGE = 'localhost/daemonocle-example:latest';
const PID_FILE = '/run/daemonocle/app/app.pid';

async function exec(container: string, script: string) {
  return podman(['exec', container, 'sh', '-c', script], { reject: false });
}

t.test('the manifest passes Pod Security "restricted", control by control', async (t) => {
  const doc = parseYaml(readFileSync(MANIFEST, 'utf8'));
  const pod = podOf(doc);
  t.ok(Array.isArray(pod.spec.containers) && pod.spec.containers.length > 0, 'a pod template with containers');
  for (const control of CONTROLS) t.same(control.check(pod), [], `${control.profile}: ${control.name} (${control.rule})`);
  // Not a control of the profile, but nothing in the pod needs the API.
  t.equal(pod.spec.automountServiceAccountToken, false, 'automountServiceAccountToken: false');
});

t.test('the restricted checks are not vacuous: a pod that breaks every control fails every one', async (t) => {
  const bad = parseYaml(`
kind: Pod
metadata:
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: unconfined
spec:
  hostPID: true
  securityContext:
    runAsUser: 0
    seccompProfile:
      type: Unconfined
    sysctls:
      - name: kernel.msgmax
        value: "1"
  containers:
    - name: app
      ports:
        - containerPort: 80
          hostPort: 80
      securityContext:
        privileged: true
        procMount: Unmasked
        allowPrivilegeEscalation: true
        runAsNonRoot: false
        windowsOptions:
          hostProcess: true
        seLinuxOptions:
          role: sysadm_r
        appArmorProfile:
          type: Unconfined
        capabilities:
          add: ["SYS_ADMIN"]
  volumes:
    - name: root
      hostPath:
        path: /
`);
  for (const control of CONTROLS) t.not(control.check(podOf(bad)).length, 0, `${control.profile}: ${control.name} caught`);
});

if (canRunContainers(t)) {
  let pod = '';
  let app = '';
  t.before(async () => {
    await prepareEngine((line) => t.comment(line));
    await podman(['build', '--network', 'none', '--format', 'docker', '-f', 'docker/Dockerfile', '--build-arg', `BASE=${await pinnedBase()}`, '-t', IMAGE, ROOT], { timeout: 300_000 });
    const played = await podman(['kube', 'play', MANIFEST], { timeout: 120_000 });
    pod = /^Pod:\n([0-9a-f]{64})$/m.exec(played.stdout)?.[1] ?? '';
    app = /^Container:\n([0-9a-f]{64})$/m.exec(played.stdout)?.[1] ?? '';
    if (pod === '' || app === '') throw new Error(`podman kube play said: ${played.all}`);
    await waitForLog(app, 'listening on 8080', 30_000);
  });
  t.teardown(async () => {
    await podman(['kube', 'down', MANIFEST], { reject: false });
    await podman(['rmi', '-f', IMAGE], { reject: false });
  });

  t.test('the pod runs, with daemonocle run as its PID 1', async (t) => {
    const state = await podman(['pod', 'inspect', pod, '--format', '{{.State}}']);
    t.equal(state.stdout.trim(), 'Running');
    const init = await exec(app, 'tr "\\0" " " < /proc/1/cmdline');
    t.match(init.stdout, /^node \/usr\/local\/bin\/daemonocle run --name app --pid-file \/run\/daemonocle\/app\/app\.pid --map-exit 143:0 -- node \/app\/app\.js $/);
  });

  t.test('the security context holds; the pid file is the non-root user\'s, in the emptyDir', async (t) => {
    const who = await exec(app, 'id -u; id -g; grep CapEff /proc/1/status; stat -c "%u %a" /run/daemonocle/app /run/daemonocle/app/app.pid; head -1 /run/daemonocle/app/app.pid');
    t.equal(who.stdout, '10001\n10001\nCapEff:\t0000000000000000\n10001 755\n10001 644\n1', 'uid and gid 10001, no capabilities, the pid file theirs, naming PID 1');
    const root = await exec(app, 'touch /written 2>&1');
    t.match(root.stdout, /Read-only file system/, 'the root file system is read-only');
    // What the restricted fields became in the played container (PID 1 and the app, its child).
    const played = await exec(app, 'for p in 1 $(cat /proc/1/task/*/children); do grep -E "^(Uid|NoNewPrivs|Seccomp|CapBnd):" /proc/$p/status | tr -s "\t" " "; done; ls /var/run/secrets/kubernetes.io 2>&1 | head -1');
    t.equal(played.stdout, 'Uid: 10001 10001 10001 10001\nCapBnd: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n'.repeat(2) + 'ls: cannot access \'/var/run/secrets/kubernetes.io\': No such file or directory',
      'wrapper and app: uid 10001, no capabilities even in the bounding set, no new privileges, a seccomp filter; no service account token');
  });

  t.test('the liveness probe (daemonocle status) is healthy', async (t) => {
    const health = await podman(['healthcheck', 'run', app], { reject: false });
    t.equal(health.exitCode, 0, `healthy (${health.all})`);
    const status = await exec(app, `daemonocle status --name app --pid-file ${PID_FILE}`);
    t.match(status.stdout, /^app -- pid: 1, status: \w+, uptime: /);
  });

  t.test('orphans made inside the container leave no zombie', async (t) => {
    for (let i = 0; i < 30; i++) await exec(app, '(sleep 0.2 &)');
    const settled = async () => (await exec(app, 'pgrep -x sleep | wc -l')).stdout.trim() === '0';
    const deadline = Date.now() + 10_000;
    while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const zombies = await exec(app, 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l');
    t.equal(zombies.stdout.trim(), '0');
  });

  t.test('a pod stop: the app\'s TERM handler runs, well inside the grace period, exit 0', async (t) => {
    const started = Date.now();
    await podman(['pod', 'stop', '-t', '30', pod], { timeout: 90_000 });
    const ms = Date.now() - started;
    t.ok(ms < 15_000, `stopped in ${ms} ms, not at the 30 s grace period's end`);
    const logs = await podman(['logs', app]);
    t.match(logs.all, /SIGTERM: closing the server/, "the app's TERM handler ran");
    const code = Number((await podman(['inspect', app, '--format', '{{.State.ExitCode}}'])).stdout.trim());
    t.ok(code === 0 || code === 143, `exit code ${code}, not 137`);
    const health = await podman(['healthcheck', 'run', app], { reject: false });
    t.not(health.exitCode, 0, `the liveness probe fails once the app is stopped (${health.all.trim()})`);
  });

  t.test('podman kube down leaves nothing behind', async (t) => {
    await podman(['kube', 'down', MANIFEST]);
    t.equal((await podman(['pod', 'exists', pod], { reject: false })).exitCode, 1, 'no pod');
    t.equal((await podman(['container', 'exists', app], { reject: false })).exitCode, 1, 'no container');
  });
}
