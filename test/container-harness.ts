// A real container engine for the tests: rootful Podman, with this sandbox's two workarounds
// (runtime runc; default ulimits no higher than the host's hard limits), and a registry-free base
// image that has node and npm like the official images: debootstrap minbase from the mirror apt
// already uses, plus the host's node and npm. The base is cached in Podman's own image store.
import { execa } from 'execa';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { UNDER_BUN, unavailable } from './helpers.js';

export const BASE_IMAGE = 'localhost/daemonocle-base:bookworm-node';

/**
 * The image carries the host's /usr/bin/node, whatever Node line or runtime the suite runs on, so
 * the containers played are the same in every suite of .ci/run: they are played in the one on the
 * system Node, and this says why the others leave them out (undefined: play them here).
 */
function playedInAnotherSuite(): string | undefined {
  const why = 'the image runs the host\'s /usr/bin/node whatever this suite runs on: played in the suite on the system Node';
  if (UNDER_BUN) return why;
  try {
    return realpathSync(process.execPath) === realpathSync('/usr/bin/node') ? undefined : why;
  } catch {
    return why;
  }
}

/**
 * Whether this file plays its containers here: not where another suite plays them (skipped, with
 * that reason), nor without root and apt-get to install podman (skipped, or failed under CI).
 */
export function canRunContainers(t: Test): boolean {
  const elsewhere = playedInAnotherSuite();
  if (elsewhere) {
    t.skip(`the played containers: ${elsewhere}`);
    return false;
  }
  const missing = process.getuid?.() !== 0 ? 'root' : !existsSync('/usr/bin/apt-get') ? 'apt-get (to install podman)' : undefined;
  return missing === undefined || unavailable(t, missing);
}

/** Waits until the container's log holds text; fails with the log after timeoutMs. */
export async function waitForLog(container: string, text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = await podman(['logs', container], { reject: false });
    if (String(logs.all ?? '').includes(text)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for '${text}' in ${container}'s logs: ${logs.all}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const CACHE = join(process.env.DAEMONOCLE_CI_CACHE ?? join(homedir(), '.cache', 'daemonocle-ci'), 'podman');
const CONF = join(CACHE, 'containers.conf');
const PACKAGES = ['podman', 'runc', 'catatonit', 'debootstrap'];

/** The base image pinned by digest, as the examples are built FROM it (`--build-arg BASE=...`):
 *  the very image prepareEngine made, not whatever carries its tag by then. */
export async function pinnedBase(): Promise<string> {
  const digest = (await podman(['image', 'inspect', BASE_IMAGE, '--format', '{{.Digest}}'])).stdout.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`no digest for ${BASE_IMAGE}: '${digest}'`);
  return `${BASE_IMAGE}@${digest}`;
}

export const podmanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_CONF: CONF });

export async function podman(args: string[], options: { reject?: boolean; timeout?: number } = {}) {
  return execa('podman', args, { env: podmanEnv(), reject: options.reject ?? true, timeout: options.timeout ?? 120_000, stdin: 'ignore', all: true });
}

/** A hard limit of this process, from /proc/self/limits ('Max open files', 'Max processes'). */
function hardLimit(name: string): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
}

function debianMirror(): string {
  for (const dir of ['/etc/apt/sources.list.d']) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      const uri = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1] ?? /^deb\s+(\S+\/debian)\s+bookworm/m.exec(text)?.[1];
      if (uri) return uri;
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    const uri = /^deb\s+(\S+\/debian)\s+bookworm/m.exec(readFileSync('/etc/apt/sources.list', 'utf8'))?.[1];
    if (uri) return uri;
  }
  throw new Error('no Debian mirror found in the apt sources');
}

/** Installs what is missing, writes containers.conf, and builds the base image once. */
export async function prepareEngine(log: (line: string) => void = () => {}): Promise<void> {
  const missing = PACKAGES.filter((p) => !['/usr/bin/', '/usr/sbin/'].some((d) => existsSync(d + p)));
  if (missing.length > 0) {
    log(`installing ${missing.join(' ')}`);
    await execa('apt-get', ['update', '-qq'], { reject: false, timeout: 300_000 });
    await execa('apt-get', ['install', '-y', '-qq', ...missing], { timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  mkdirSync(CACHE, { recursive: true });
  const nofile = Math.min(hardLimit('Max open files'), 1 << 20);
  const nproc = Math.min(hardLimit('Max processes'), Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')));
  writeFileSync(CONF, `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n\n[engine]\nruntime = "runc"\n`);

  const have = await podman(['image', 'exists', BASE_IMAGE], { reject: false });
  if (have.exitCode === 0) return;
  const rootfs = join(CACHE, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  log(`debootstrap minbase bookworm from ${debianMirror()}`);
  await execa('debootstrap', ['--variant=minbase', 'bookworm', rootfs, debianMirror()], { timeout: 600_000 });
  // The host's node and npm, where the official node images keep them.
  copyFileSync('/usr/bin/node', join(rootfs, 'usr/local/bin/node'));
  const npmDir = dirname(dirname(await realNpm()));
  cpSync(npmDir, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  await execa('sh', ['-c', `tar -C '${rootfs}' -c . | podman import - ${BASE_IMAGE}`], { env: podmanEnv(), timeout: 300_000 });
  rmSync(rootfs, { recursive: true, force: true });
}

async function realNpm(): Promise<string> {
  const r = await execa('readlink', ['-f', '/usr/bin/npm']);
  return r.stdout.trim(); // .../node_modules/npm/bin/npm-cli.js
}
