// Boots the host's own systemd in a throwaway container (systemd-nspawn --volatile=yes) with the
// given units, runs check.service (a shell script that drives them and writes its findings to
// /out), and powers off. One boot per test file; every boot is bounded by a timeout.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { ROOT, RUNTIME, unavailable } from './helpers.js';

const NSPAWN = '/usr/bin/systemd-nspawn';

export function canBootSystemd(t: Test): boolean {
  const missing = process.getuid?.() !== 0 ? 'root' : !existsSync(NSPAWN) ? 'systemd-nspawn (apt-get install systemd-container)' : undefined;
  if (missing === undefined) return true;
  return unavailable(t, missing);
}

export interface Boot {
  out: string;
  read(name: string): string;
  log: string;
}

/** units: file name -> content, installed in /etc/systemd/system; check: the check script's body. */
export async function bootSystemd(dir: string, units: Record<string, string>, check: string, timeoutMs = 90_000): Promise<Boot> {
  const out = join(dir, 'out');
  const unitDir = join(dir, 'units');
  mkdirSync(out, { recursive: true });
  mkdirSync(unitDir, { recursive: true });
  const binds: string[] = [`--bind=${out}:/out`, `--bind-ro=${ROOT}`];
  // The node running the tests, and the runtime under test, may live outside /usr (Node 24 or Bun
  // in CI): make them visible too.
  for (const runtime of new Set([process.execPath, RUNTIME])) {
    if (!runtime.startsWith('/usr/')) binds.push(`--bind-ro=${dirname(dirname(runtime))}`);
  }
  for (const [name, content] of Object.entries(units)) {
    writeFileSync(join(unitDir, name), content);
    binds.push(`--bind-ro=${join(unitDir, name)}:/etc/systemd/system/${name}`);
  }
  writeFileSync(join(unitDir, 'check.sh'), `#!/bin/sh\nset -u\n${check}\n`, { mode: 0o755 });
  writeFileSync(
    join(unitDir, 'check.service'),
    `[Unit]\nDescription=test driver\n[Service]\nType=oneshot\nExecStart=/units/check.sh\nExecStopPost=/bin/systemctl poweroff --no-block\n`,
  );
  binds.push(`--bind-ro=${unitDir}:/units`, `--bind-ro=${join(unitDir, 'check.service')}:/etc/systemd/system/check.service`);
  const machine = `dtest-${process.pid}-${Date.now() % 100000}`;
  const r = await execa(
    NSPAWN,
    ['--register=no', '--keep-unit', '-D', '/', '--volatile=yes', '-M', machine, ...binds, '-b', 'systemd.firstboot=off', 'systemd.unit=check.service'],
    { reject: false, timeout: timeoutMs, stdin: 'ignore', all: true, env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } },
  );
  return {
    out,
    log: String(r.all ?? ''),
    read: (name) => {
      const path = join(out, name);
      return existsSync(path) ? readFileSync(path, 'utf8') : '';
    },
  };
}

/** Parses `systemctl show -p ...` output of several units (blank-line separated) by Id. */
export function parseShow(text: string): Record<string, Record<string, string>> {
  const units: Record<string, Record<string, string>> = {};
  for (const block of text.split(/\n\n+/)) {
    const props: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
    }
    if (props.Id) units[props.Id] = props;
  }
  return units;
}
