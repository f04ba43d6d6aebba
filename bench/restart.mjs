#!/usr/bin/env node
// `run --restart` beside the managers people use for it, in one run (#31):
//  - crash to the next exec: a command that exits 1 at once, restarted with no delay; the time from
//    its last line to the next start's first, median over RESTARTS, against a bare shell loop
//    restarting the same command (the floor: fork, exec, bash's own start);
//  - the supervisor's own memory (anonymous) after each of three windows of WINDOW restarts (a
//    leak grows in every window), and for 1 and 10 services beside pm2's daemon and supervisord.
// pm2 and supervisord are found, never installed by this script:
//   npm install --prefix ~/.cache/daemonocle-bench/pm2 pm2@7     apt-get install supervisor
// Run: node bench/restart.mjs   (BENCH_MARKDOWN=1 for the README's table rows)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'dist', 'bin', 'daemonocle.cjs');
const NODE = process.execPath;
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 200);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 300);
const PM2 = [process.env.PM2_BIN, join(homedir(), '.cache/daemonocle-bench/pm2/node_modules/.bin/pm2')].find((p) => p && existsSync(p));
const SUPERVISORD = ['/usr/bin/supervisord', '/usr/local/bin/supervisord'].find(existsSync);
const dir = mkdtempSync(join(tmpdir(), 'daemonocle-bench-restart-'));
const markdown = process.env.BENCH_MARKDOWN === '1';
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s) => `${(s * 1000).toFixed(1)} ms`;
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
const sleep = (n) => new Promise((r) => setTimeout(r, n));
// Anonymous memory (smaps_rollup "Anonymous"): a manager that forks shares its pages with each new
// child until that child execs, which hides them from anonymous memory at random moments (supervisord
// read 19.8 MiB, then 1.2, then 0.0 with the same RSS); Anonymous counts them whatever the sharing.
const anonKiB = (pid) => Number(/^Anonymous:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]);
const lines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
async function until(cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A command that logs its start and its end with bash's clock, then exits 1. */
const crasher = (log) => ['bash', '-c', `echo "s $EPOCHREALTIME" >> ${log}; echo "e $EPOCHREALTIME" >> ${log}; exit 1`];

/** Median time from one start's end line to the next start's first line, in seconds. */
function respawnGap(log) {
  const events = lines(log).map((l) => l.split(' '));
  const gaps = [];
  for (let i = 1; i + 1 < events.length; i += 2) {
    if (events[i][0] === 'e' && events[i + 1][0] === 's') gaps.push(Number(events[i + 1][1]) - Number(events[i][1]));
  }
  return { gap: median(gaps), count: gaps.length };
}

const rows = [];
function row(what, value, reference, note = '') {
  rows.push([what, value, reference, note]);
  console.log(`${what.padEnd(58)} ${value.padStart(10)}   ${reference.padEnd(26)} ${note}`);
}

// The floor: a shell loop restarting the command as fast as fork and exec go.
function shellLoop() {
  const log = join(dir, 'loop.log');
  const [cmd, ...args] = crasher(log);
  spawnSync('bash', ['-c', `for i in $(seq ${RESTARTS}); do ${cmd} ${args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')}; done`], { stdio: 'ignore' });
  return respawnGap(log).gap;
}

/** daemonocle run --restart always, no delay: the respawn gap and the wrapper's memory per window. */
async function daemonocle(windows) {
  const log = join(dir, 'daemonocle.log');
  const proc = spawn(NODE, [...NODE_FLAGS, BIN, 'run', '--restart', 'always', '--restart-delay', '0', '--restart-limit', `${10 * windows * WINDOW}/3600`, '--name', 'bench', '--', ...crasher(log)], { stdio: 'ignore' });
  const memory = [];
  for (let w = 1; w <= windows; w++) {
    await until(() => lines(log).length >= 2 * w * WINDOW, 600_000, `${w * WINDOW} restarts`);
    memory.push(anonKiB(proc.pid));
  }
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  return { ...respawnGap(log), memory };
}

async function supervisord(services) {
  const conf = join(dir, `supervisord-${services}.conf`);
  const logs = Array.from({ length: services }, (_, i) => join(dir, `supervisord-${services}-${i}.log`));
  writeFileSync(conf, [
    `[supervisord]\nnodaemon=true\nlogfile=${join(dir, `supervisord-${services}.log`)}\npidfile=${join(dir, `supervisord-${services}.pid`)}\n`,
    ...logs.map((log, i) => `[program:p${i}]\ncommand=${crasher(log).slice(0, 2).join(' ')} '${crasher(log)[2]}'\nautorestart=true\nstartsecs=0\nstartretries=1000000\nstdout_logfile=NONE\nstderr_logfile=NONE\n`),
  ].join('\n'));
  const proc = spawn(SUPERVISORD, ['-n', '-c', conf], { stdio: 'ignore' });
  // supervisord restarts about once a second: ten restarts of every service.
  await until(() => proc.exitCode !== null || logs.every((log) => lines(log).length >= 2 * 10), 120_000, 'supervisord restarts');
  if (proc.exitCode !== null) throw new Error(`supervisord exited ${proc.exitCode}: ${readFileSync(join(dir, `supervisord-${services}.log`), 'utf8').slice(-500)}`);
  const memory = anonKiB(proc.pid);
  const result = services === 1 ? respawnGap(logs[0]) : {};
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  return { ...result, memory };
}

async function pm2(services) {
  const env = { ...process.env, PM2_HOME: join(dir, `pm2-${services}`) };
  const pm2 = (...args) => spawnSync(PM2, args, { env, stdio: 'ignore', timeout: 60_000 });
  const logs = Array.from({ length: services }, (_, i) => join(dir, `pm2-${services}-${i}.log`));
  for (const [i, log] of logs.entries()) {
    const [cmd, ...args] = crasher(log);
    pm2('start', cmd, '--name', `p${i}`, '--restart-delay', '0', '--max-restarts', '1000000', '--', ...args);
  }
  await until(() => lines(logs[0]).length >= 2 * 20, 120_000, 'pm2 restarts');
  const daemon = Number(readFileSync(join(env.PM2_HOME, 'pm2.pid'), 'utf8'));
  const memory = anonKiB(daemon);
  const result = services === 1 ? respawnGap(logs[0]) : {};
  pm2('kill');
  return { ...result, memory };
}

/** Ten wrappers, one per service: their memory summed after a few restarts each. */
async function daemonocleTen() {
  const logs = Array.from({ length: 10 }, (_, i) => join(dir, `ten-${i}.log`));
  const procs = logs.map((log) => spawn(NODE, [BIN, 'run', '--restart', 'always', '--restart-delay', '0', '--restart-limit', '100000/3600', '--', ...crasher(log)], { stdio: 'ignore' }));
  await until(() => logs.every((log) => lines(log).length >= 2 * 20), 120_000, 'ten services restarting');
  const memory = procs.reduce((sum, p) => sum + anonKiB(p.pid), 0);
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))));
  return memory;
}

try {
  console.log(`restart benchmarks: node ${process.version}, ${RESTARTS} restarts for the gap, windows of ${WINDOW} for memory\n`);
  const floor = shellLoop();
  row('bash loop restarting the command (reference)', ms(floor), '-', 'fork + exec + bash start');
  const ours = await daemonocle(3);
  row('daemonocle run --restart always: crash to next start', ms(ours.gap), `loop ${ms(floor)}`, `+${ms(ours.gap - floor)} over the loop (goal: delay + 20 ms)`);
  const growth = ours.memory.slice(1).map((m, i) => m - ours.memory[i]);
  row(`daemonocle wrapper anonymous memory after ${WINDOW}/${2 * WINDOW}/${3 * WINDOW} restarts`, mib(ours.memory[2]), ours.memory.map(mib).join(' / '), `growth per window ${growth.map((g) => `${g} KiB`).join(', ')} (goal <= 10 MiB, smallest growth <= 1 MiB)`);
  if (SUPERVISORD) {
    const one = await supervisord(1);
    row('supervisord (autorestart, startsecs=0): crash to next start', ms(one.gap), `loop ${ms(floor)}`, `${one.count} restarts`);
    row('supervisord anonymous memory, 1 service', mib(one.memory), '');
    row('supervisord anonymous memory, 10 services', mib((await supervisord(10)).memory), '');
  } else console.log('supervisord: not found (apt-get install supervisor)');
  if (PM2) {
    const one = await pm2(1);
    row('pm2 7 (restart-delay 0): crash to next start', ms(one.gap), `loop ${ms(floor)}`, `${one.count} restarts`);
    row("pm2's daemon anonymous memory, 1 service", mib(one.memory), '');
    row("pm2's daemon anonymous memory, 10 services", mib((await pm2(10)).memory), '');
  } else console.log('pm2: not found (npm install --prefix ~/.cache/daemonocle-bench/pm2 pm2@7)');
  row('daemonocle anonymous memory, 1 service (one wrapper)', mib(ours.memory[0]), '');
  row('daemonocle anonymous memory, 10 services (ten wrappers, summed)', mib(await daemonocleTen()), '');
  if (markdown) {
    console.log('\n| figure | value | reference | note |\n|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
