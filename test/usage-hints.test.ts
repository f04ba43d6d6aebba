// Hints for common slips, and `help`/`-v` as users of git and npm type them. A slip is still bad
// usage: one ERROR line (now with "did you mean ...?" when something close was meant), then the
// usage line, exit 2, nothing started. When nothing is close, the message is what it always was.
import t from 'tap';
import { existsSync } from 'node:fs';
import { fixture, libAppEnv, sandbox } from './helpers.js';

const USAGE = 'Usage: daemonocle <start|stop|restart|status|reload|run|list> [options] [-- command [args...]]\n';

t.test('slips: one ERROR line with the hint, the usage line, exit 2', async (t) => {
  const box = sandbox(t);
  const cases: [string, string[], string][] = [
    ['a name without --name', ['status', 'web'], "ERROR: Unexpected argument 'web' for status; did you mean --name web?"],
    ['stop web', ['stop', 'web'], "ERROR: Unexpected argument 'web' for stop; did you mean --name web?"],
    ['start NAME -- CMD', ['start', 'web', '--', 'sleep', '1'], "ERROR: Unexpected argument 'web' for start; did you mean --name web?"],
    ['a pid file without --pid-file', ['status', '/tmp/web.pid'], "ERROR: Unexpected argument '/tmp/web.pid' for status; did you mean --pid-file /tmp/web.pid?"],
    ['a directory for list', ['list', '/tmp'], "ERROR: Unexpected argument '/tmp' for list; did you mean --pid-dir /tmp?"],
    ['the name first', ['web', 'status'], "ERROR: Unknown action 'web'; did you mean status --name web?"],
    ['a mistyped action', ['stauts'], "ERROR: Unknown action 'stauts'; did you mean status?"],
    ['a swapped pair of letters', ['start', '--nmae', 'x', '--', 'sleep', '1'], "ERROR: Unknown option '--nmae' for start; did you mean --name?"],
    ['--option=value', ['start', '--nmae=x', '--', 'sleep', '1'], "ERROR: Unknown option '--nmae' for start; did you mean --name?"],
    ['the option before the action', ['--nmae', 'x', 'start', '--', 'sleep', '1'], "ERROR: Unknown option '--nmae' for start; did you mean --name?"],
    ['a missing dash', ['status', '--pidfile', 'x'], "ERROR: Unknown option '--pidfile' for status; did you mean --pid-file?"],
    ['a missing letter', ['list', '--jsn'], "ERROR: Unknown option '--jsn' for list; did you mean --json?"],
    ['two as close', ['start', '--stdoer', 'f', '--', 'sleep', '1'], "ERROR: Unknown option '--stdoer' for start; did you mean --stdout or --stderr?"],
  ];
  for (const [what, args, error] of cases) {
    const r = await box.cli(args);
    t.equal(r.stderr, `${error}\n${USAGE}`, what);
    t.equal(r.stdout, '', `${what}: nothing on stdout`);
    t.equal(r.exitCode, 2, `${what}: exit 2`);
  }
  t.notOk(existsSync(box.pidFile), 'nothing started');

  // Nothing close: the message as before, without a guess.
  // Close only to an option start refuses (stop's --force): no hint towards it.
  for (const args of [['start', '--zzzzzz', '--', 'sleep', '1'], ['start', '--forc', '--', 'sleep', '1']]) {
    const r = await box.cli(args);
    t.match(r.stderr, new RegExp(`^ERROR: Unknown option '${args[1]}'; valid options: --name, --pid-file, .*--subreaper, --restart, --restart-delay, --restart-max-delay, --restart-reset, --restart-limit\\n${USAGE.replace(/[|[\]().*+?]/g, '\\$&')}$`), args[1]!);
    t.equal(r.exitCode, 2);
  }
  const action = await box.cli(['frobnicate']);
  t.equal(action.stderr, `ERROR: Unknown action 'frobnicate'; valid actions: start, stop, restart, status, reload, run, list\n${USAGE}`);
  // A command without '--' is still that hint, not a name.
  const stray = await box.cli(['start', 'sleep', '1']);
  t.equal(stray.stderr, `ERROR: Unexpected argument 'sleep' (put the command after '--')\n${USAGE}`);
});

t.test('help, help ACTION, -v and --version', async (t) => {
  const box = sandbox(t);
  const general = await box.cli(['--help']);
  const help = await box.cli(['help']);
  t.equal(help.exitCode, 0, 'help');
  t.equal(help.stdout, general.stdout, 'help is --help');
  t.match(help.stdout, /\n {2}help +this help; help ACTION: that action's/, 'the general help names help ACTION');
  t.match(help.stdout, /\n {2}-v, --version +the version\n/);
  for (const action of ['start', 'list', 'run']) {
    const r = await box.cli(['help', action]);
    t.equal(r.exitCode, 0, `help ${action}`);
    t.equal(r.stdout, (await box.cli([action, '--help'])).stdout, `help ${action} is ${action} --help`);
  }
  const unknown = await box.cli(['help', 'stauts']);
  t.equal(unknown.stderr, `ERROR: Unknown action 'stauts'; did you mean status?\n${USAGE}`);
  t.equal(unknown.exitCode, 2);

  const version = (await box.cli(['--version'])).stdout;
  t.match(version, /^\d+\.\d+\.\d+\n$/);
  for (const flag of ['-v', '-V']) {
    const r = await box.cli([flag]);
    t.equal(r.stdout, version, flag);
    t.equal(r.exitCode, 0, flag);
  }
});

t.test("daemon.cli(): the same hint for a mistyped flag of a built-in action", async (t) => {
  const box = sandbox(t);
  const r = await box.node(fixture('lib-app.js'), ['status', '--jsno'], { env: libAppEnv(box) });
  t.match(r.stderr, /^ERROR: Unknown option '--jsno' for status; did you mean --json\?\nUsage: app </);
  t.equal(r.exitCode, 2);
});
