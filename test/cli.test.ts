import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, libAppEnv, ROOT, sandbox } from './helpers.js';

const USAGE = 'Usage: daemonocle <start|stop|restart|status|reload|run|list> [options] [-- command [args...]]\n';

t.test('bad usage: one ERROR line, the usage line, exit 2, nothing started', async (t) => {
  const box = sandbox(t);
  const p = ['--pid-file', box.pidFile];
  const cases: [string, string[], RegExp][] = [
    ['no action', [], /^ERROR: No action given\n$/],
    ['unknown action', ['launch'], /^ERROR: Unknown action 'launch'; valid actions: start, stop, restart, status, reload, run, list\n$/],
    ['unknown option', ['start', '--bogus', '--', 'sleep', '1'], /^ERROR: Unknown option '--bogus'; valid options: --name, --pid-file, /],
    ['missing value', ['status', '--pid-file'], /^ERROR: Option --pid-file needs a value\n$/],
    ['no command', ['start', ...p], /^ERROR: start needs a command after '--'\n$/],
    ['restart without command', ['restart', ...p], /^ERROR: restart needs a command after '--'\n$/],
    ['status without name', ['status'], /^ERROR: status needs --name, --pid-file or a command after '--'\n$/],
    ['bad umask', ['start', ...p, '--umask', '999', '--', 'sleep', '1'], /^ERROR: --umask must be an octal mode between 000 and 777, not '999'\n$/],
    ['bad grace', ['start', ...p, '--grace', 'soon', '--', 'sleep', '1'], /^ERROR: --grace must be a number of seconds >= 0, not 'soon'\n$/],
    ['value like an option', ['stop', ...p, '--stop-timeout', '-1'], /^ERROR: Option --stop-timeout needs a value \(for a value starting with '-', write --stop-timeout=VALUE\)\n$/],
    ['flag with a value', ['stop', ...p, '--force=yes'], /^ERROR: Option --force takes no value\n$/],
    ['negative timeout', ['stop', ...p, '--stop-timeout=-1'], /^ERROR: --stop-timeout must be a number of seconds >= 0, not '-1'\n$/],
    ['unknown user', ['start', ...p, '--user', 'no-such-user-xyz', '--', 'sleep', '1'], /^ERROR: --user: no such user 'no-such-user-xyz'\n$/],
    ['unknown group', ['start', ...p, '--group', 'no-such-group-xyz', '--', 'sleep', '1'], /^ERROR: --group: no such group 'no-such-group-xyz'\n$/],
    ['bad fd list', ['start', ...p, '--keep-fds', '3,x', '--', 'sleep', '1'], /^ERROR: --keep-fds takes file descriptor numbers >= 3, not 'x'\n$/],
    ['closed fd', ['start', ...p, '--keep-fds', '77', '--', 'sleep', '1'], /^ERROR: --keep-fds: file descriptor 77 is not open\n$/],
    ['missing work dir', ['start', ...p, '--work-dir', '/no/such/dir', '--', 'sleep', '1'], /^ERROR: --work-dir: no such directory '\/no\/such\/dir'\n$/],
    ['bad name', ['status', '--name', 'a/b'], /^ERROR: --name must be a non-empty name without '\/' or newlines, not 'a\/b'\n$/],
    ['option for another action', ['status', ...p, '--force'], /^ERROR: --force does not apply to status\n$/],
    ['stray argument', ['start', 'sleep', '1'], /^ERROR: Unexpected argument 'sleep' \(put the command after '--'\)\n$/],
  ];
  for (const [label, args, message] of cases) {
    const r = await box.cli(args);
    t.equal(r.exitCode, 2, `${label}: exit 2`);
    t.equal(r.stdout, '', `${label}: nothing on stdout`);
    const [first, ...rest] = r.stderr.split(/(?<=\n)/);
    t.match(first, message, `${label}: the ERROR line`);
    t.equal(rest.join(''), USAGE, `${label}: then the usage line`);
  }
  t.same(box.processes(), [], 'nothing started');
});

t.test('--help and --version', async (t) => {
  const box = sandbox(t);
  const help = await box.cli(['--help']);
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /^Usage: daemonocle <start\|stop\|restart\|status\|reload\|run\|list>/);
  for (const option of ['--pid-file', '--stop-timeout', '--signal-group', '--force', '--json', '--keep-fds', '--grace', '--user']) {
    t.match(help.stdout, option, `help lists ${option}`);
  }
  const startHelp = await box.cli(['start', '--help']);
  t.match(startHelp.stdout, /^Usage: daemonocle start \[options\] -- CMD \[ARGS\.\.\.\]/);
  t.notMatch(startHelp.stdout, /--json/);
  const version = await box.cli(['--version']);
  t.equal(version.stdout, `${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`);
  t.equal(version.exitCode, 0);
});

t.test('the default pid file is derived from the name', async (t) => {
  const box = sandbox(t);
  const runtime = join(box.dir, 'xdg');
  const env = process.getuid?.() === 0 ? {} : { XDG_RUNTIME_DIR: runtime };
  const name = `dflt-${process.pid}`;
  const expected = process.getuid?.() === 0 ? `/run/daemonocle/${name}.pid` : join(runtime, 'daemonocle', `${name}.pid`);
  const start = await box.cli(['start', '--name', name, '--grace', '0.2', '--', 'sleep', '1000'], { env: { ...box.env, ...env } });
  t.equal(start.exitCode, 0, start.stderr);
  t.match(readFileSync(expected, 'utf8'), /^\d+\n\d+\n$/, `pid file at ${expected}`);
  const stop = await box.cli(['stop', '--name', name], { env: { ...box.env, ...env } });
  t.equal(stop.stdout, `Stopping ${name} ... OK\n`);
  t.notOk(existsSync(expected), 'the pid file removed');
  t.notOk(existsSync(`${expected}.lock`), 'and no lock file left behind in the shared directory');
});

t.test('anywhere but Linux every action says so, and starts nothing', async (t) => {
  const box = sandbox(t);
  for (const platform of ['win32', 'darwin', 'freebsd']) {
    // process.platform is the only thing that differs for this check; everything else is the real CLI.
    const preload = join(box.dir, `as-${platform}.mjs`);
    writeFileSync(preload, `Object.defineProperty(process, 'platform', { value: '${platform}' });\n`);
    // Node preloads it through NODE_OPTIONS, Bun through BUN_OPTIONS.
    const env = { ...box.env, NODE_OPTIONS: `--import=${preload}`, BUN_OPTIONS: `--preload=${preload}` };
    const unsupported = `ERROR: daemonocle runs on Linux only (this is ${platform}); see "Other platforms" in its README\n`;
    for (const args of [['start', '--pid-file', box.pidFile, '--', 'sleep', '1000'], ['status', '--pid-file', box.pidFile]]) {
      const r = await box.cli(args, { env });
      t.equal(r.stderr, unsupported, `${platform} ${args[0]}: the ERROR line`);
      t.equal(r.stdout, '', `${platform} ${args[0]}: nothing on stdout`);
      t.equal(r.exitCode, 1, `${platform} ${args[0]}: exit 1`);
    }
    const lib = await box.node(fixture('lib-app.js'), ['start'], { env: { ...libAppEnv(box), NODE_OPTIONS: env.NODE_OPTIONS, BUN_OPTIONS: env.BUN_OPTIONS } });
    t.equal(lib.stderr, unsupported, `${platform} library doAction: the same ERROR line`);
    t.equal(lib.exitCode, 1);
    t.equal((await box.cli(['--version'], { env })).exitCode, 0, `${platform}: --version still answers`);
  }
  t.same(box.processes(), [], 'nothing started');
});
