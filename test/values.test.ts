// SPEC "Safe as root", values stay in range: numbers are decimal, seconds beyond what a timer holds
// are refused (exit 2; a TypeError from the Daemon constructor), never shortened to a 1 ms timer;
// and an option mistake that only start's session leader would notice (too many of fds 3-9 kept)
// is bad usage before anything is printed or created. (Beside options.test.ts, whose every
// action x every option table already takes most of its time budget.)
import t from 'tap';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { BIN, RUNTIME, sandbox } from './helpers.js';
import { parseCli } from '../dist/options/argv.js';
import { Daemon } from '../dist/index.js';
import { watchdogIntervalMs } from '../dist/systemd/notify.js';

type Action = 'start' | 'stop' | 'restart' | 'status' | 'reload' | 'run' | 'list';

const SECONDS_FLAGS: [string, Action][] = [['grace', 'start'], ['start-timeout', 'restart'], ['stop-timeout', 'stop']];

t.test('values stay in range: seconds past what a timer holds, and non-decimal numbers, are usage errors', async (t) => {
  const box = sandbox(t);
  const args = (action: Action, flag: string, value: string) =>
    [action, '--pid-file', box.pidFile, `--${flag}`, value, ...(action === 'stop' ? [] : ['--', 'sleep', '1'])];
  // As a user meets them (the CLI, exit 2, nothing on stdout): the largest value named...
  for (const [flag, action] of SECONDS_FLAGS) {
    const big = await box.cli(args(action, flag, '2147484'));
    t.equal(big.exitCode, 2, `--${flag} 2147484: exit 2`);
    t.equal(big.stdout, '', `--${flag} 2147484: nothing on stdout`);
    t.match(big.stderr, new RegExp(`^ERROR: --${flag} must be at most 2147483 seconds \\(about 24\\.8 days, the longest timer Node holds\\), not '2147484'\\n`));
  }
  // ...and hex refused (it was 16 s).
  const hex = await box.cli(args('start', 'grace', '0x10'));
  t.equal(hex.exitCode, 2, '--grace 0x10: exit 2');
  t.match(hex.stderr, /^ERROR: --grace must be a number of seconds >= 0, not '0x10'\n/);
  t.same(box.processes(), [], 'nothing was started');
  t.same(readdirSync(box.dir), [], 'nothing was created');

  // The rest through the same parser, in-process.
  for (const [flag, action] of SECONDS_FLAGS) {
    for (const value of ['0x10', '010e0', '1e3', '0o7', '0b1', '+5', ' 5', 'Infinity', '5s', '', '.']) {
      t.throws(() => parseCli(args(action, flag, value)), { message: `--${flag} must be a number of seconds >= 0, not '${value}'` }, `--${flag} '${value}'`);
    }
    t.throws(() => parseCli(args(action, flag, '2147483.5')), { message: /must be at most 2147483 seconds/ });
  }
  for (const value of ['2147483', '0', '0.25', '.5', '5.', '010']) {
    const parsed = parseCli(['start', '--name', 'x', '--grace', value, '--', 'sleep', '1']);
    t.equal(parsed.kind === 'action' && parsed.options.grace, Number(value), `--grace '${value}' is decimal seconds`);
  }
});

t.test('values stay in range: the Daemon constructor refuses seconds a timer cannot hold', async (t) => {
  for (const key of ['grace', 'startTimeout', 'stopTimeout']) {
    t.throws(() => new Daemon({ [key]: 2147484 }), {
      name: 'TypeError',
      message: `Daemon option '${key}' must be a number of seconds from 0 to 2147483, got 2147484 (number)`,
    });
    t.doesNotThrow(() => new Daemon({ [key]: 2147483 }), `${key}: 2147483 is fine`);
  }
});

t.test("values stay in range: systemd's WATCHDOG_USEC beyond a timer's reach pings at the longest timer, not every 1 ms", async (t) => {
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000000000' }, 1), 2 ** 31 - 1);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000' }, 1), 10_000, 'an ordinary one: half of it');
});

t.test('--keep-fds that leave the session leader too few of 3-9: a usage error before anything is printed or created', async (t) => {
  const box = sandbox(t);
  const open = 'exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null 8</dev/null;';
  for (const action of ['start', 'restart']) {
    const r = await execa('sh', ['-c', `${open} exec "$@"`, 'sh', RUNTIME, BIN, action, '--pid-file', box.pidFile, '--keep-fds', '3,4,5,6,7,8', '--', 'sleep', '1000'], {
      env: box.env, extendEnv: false, reject: false, stdin: 'ignore',
    });
    t.equal(r.exitCode, 2, `${action}: exit 2`);
    t.equal(r.stdout, '', `${action}: nothing on stdout (no "Starting ... ")`);
    t.match(r.stderr, /^ERROR: --keep-fds may use at most five of the fds 3-9\nUsage: /, `${action}: the ERROR and the usage line`);
    const withReadyFd = await execa('sh', ['-c', `${open} exec "$@"`, 'sh', RUNTIME, BIN, action, '--pid-file', box.pidFile, '--keep-fds', '3,4,5,6,7', '--ready-fd', '8', '--', 'sleep', '1000'], {
      env: box.env, extendEnv: false, reject: false, stdin: 'ignore',
    });
    t.equal(withReadyFd.exitCode, 2, `${action} with --ready-fd: exit 2`);
    t.equal(withReadyFd.stdout, '');
    t.match(withReadyFd.stderr, /^ERROR: --keep-fds and --ready-fd may use at most five of the fds 3-9\n/);
  }
  t.same(readdirSync(box.dir), [], 'no pid file, no lock file');
  t.same(box.processes(), [], 'nothing was started');
});
