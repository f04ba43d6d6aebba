// Every action x every option, as a user meets them: an option the action takes is parsed, any
// other is bad usage (exit 2, an ERROR naming the option and the action), and `ACTION --help`
// lists exactly the ones it takes. The expected table below is written out from SPEC.md, not read
// from the registry, so a registry that drifts from the contract fails here.
import t from 'tap';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sandbox } from './helpers.js';
import { parseCli } from '../dist/options/argv.js';
import { markdownOptionTable } from '../dist/options/help.js';
import { OPTIONS } from '../dist/options/registry.js';

type Action = 'start' | 'stop' | 'restart' | 'status' | 'reload' | 'run' | 'list';
const ACTIONS: Action[] = ['start', 'stop', 'restart', 'status', 'reload', 'run', 'list'];
const LAUNCH: Action[] = ['start', 'restart', 'run'];
/** Every action about one daemon: all but list. */
const ALL: Action[] = ['start', 'stop', 'restart', 'status', 'reload', 'run'];

const keptFd = openSync('/dev/null', 'r');
t.teardown(() => closeSync(keptFd));

/** Each CLI option: a valid value (none for a switch) and the actions SPEC.md says it changes. */
const EXPECTED: Record<string, { value?: string; actions: Action[] }> = {
  name: { value: 'app', actions: ALL },
  'pid-file': { value: '/tmp/daemonocle-options-test.pid', actions: ALL },
  'work-dir': { value: '/tmp', actions: LAUNCH },
  stdout: { value: '/tmp/out.log', actions: LAUNCH },
  stderr: { value: '/tmp/err.log', actions: LAUNCH },
  umask: { value: '027', actions: LAUNCH },
  user: { value: 'root', actions: ALL },
  group: { value: 'root', actions: ALL },
  'keep-fds': { value: String(keptFd), actions: LAUNCH },
  'stop-timeout': { value: '3', actions: ['stop', 'restart', 'run'] },
  grace: { value: '2', actions: LAUNCH },
  notify: { actions: LAUNCH },
  'start-timeout': { value: '5', actions: ['start', 'restart'] },
  'ready-port': { value: '8080', actions: LAUNCH },
  'ready-file': { value: '/tmp/ready', actions: LAUNCH },
  'ready-cmd': { value: 'true', actions: LAUNCH },
  'signal-group': { actions: ['stop', 'restart', 'reload', 'run'] },
  force: { actions: ['stop', 'restart'] },
  json: { actions: ['status', 'list'] },
  'pid-dir': { value: '/tmp', actions: ['list'] },
  tree: { actions: ['status'] },
  'reload-signal': { value: 'USR1', actions: ['reload'] },
  subreaper: { actions: ['run'] },
  'ready-fd': { value: '7', actions: LAUNCH },
  rewrite: { value: 'TERM:QUIT', actions: ['run'] },
  'map-exit': { value: '143:0', actions: ['run'] },
  // SPEC.md gives --restart to start and restart too: they take it once the detached supervisor is built (#31).
  restart: { value: 'on-failure', actions: ['run'] },
  'restart-delay': { value: '0.5', actions: ['run'] },
  'restart-max-delay': { value: '60', actions: ['run'] },
  'restart-reset': { value: '60', actions: ['run'] },
  'restart-limit': { value: '3/30', actions: ['run'] },
};

const argsFor = (action: Action, flag: string): string[] => {
  const { value } = EXPECTED[flag]!;
  const command = LAUNCH.includes(action) ? ['--', 'sleep', '1'] : [];
  const base = flag === 'name' || flag === 'pid-file' || action === 'list' ? [] : ['--name', 'app'];
  return [action, ...base, `--${flag}`, ...(value === undefined ? [] : [value]), ...command];
};

t.test('the registry has exactly the CLI options SPEC.md lists', async (t) => {
  const flags = OPTIONS.filter((o) => o.flag !== undefined).map((o) => o.flag);
  t.same([...flags].sort(), Object.keys(EXPECTED).sort());
});

t.test('an option the action takes is parsed and changes what the action runs with', async (t) => {
  for (const action of ACTIONS) {
    for (const [flag, { actions }] of Object.entries(EXPECTED)) {
      if (!actions.includes(action)) continue;
      const withIt = parseCli(argsFor(action, flag));
      const args = argsFor(action, flag);
      const at = args.indexOf(`--${flag}`);
      args.splice(at, EXPECTED[flag]!.value === undefined ? 1 : 2);
      if ((flag === 'name' || flag === 'pid-file') && action !== 'list') args.splice(1, 0, '--name', 'other');
      const without = parseCli(args);
      t.equal(withIt.kind, 'action', `${action} --${flag} is accepted`);
      t.notSame(withIt, without, `${action} --${flag} changes the options`);
    }
  }
});

t.test('any other option: ERROR naming the option and the action, exit 2, nothing run', async (t) => {
  const box = sandbox(t);
  for (const action of ACTIONS) {
    for (const [flag, { actions }] of Object.entries(EXPECTED)) {
      if (actions.includes(action)) continue;
      const r = await box.cli(argsFor(action, flag));
      t.equal(r.exitCode, 2, `${action} --${flag}: exit 2`);
      t.match(r.stderr, new RegExp(`^ERROR: --${flag} does not apply to ${action}\\n`), `${action} --${flag}: the ERROR line`);
      t.equal(r.stdout, '', `${action} --${flag}: nothing on stdout`);
    }
  }
  t.same(box.processes(), [], 'nothing was started');
});

t.test('ACTION --help lists exactly the options ACTION takes', async (t) => {
  const box = sandbox(t);
  for (const action of ACTIONS) {
    const r = await box.cli([action, '--help']);
    t.equal(r.exitCode, 0, `${action} --help`);
    const listed = [...r.stdout.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]).filter((f) => f !== 'help');
    const expected = Object.entries(EXPECTED)
      .filter(([, { actions }]) => actions.includes(action))
      .map(([flag]) => flag);
    t.same(listed.sort(), expected.sort(), `${action} --help`);
  }
});

t.test("docs/cli.md's option table is the registry's", async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const m = /<!-- options:begin[^>]*-->\n([\s\S]*?)\n<!-- options:end -->/.exec(doc);
  t.ok(m, 'docs/cli.md has the generated table between its markers');
  t.equal(m?.[1], markdownOptionTable(), 'up to date (regenerate with: npm run docs:options)');
});

t.test("the README's option table names every CLI option, and no other", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const cli = readme.slice(readme.indexOf('## CLI'), readme.indexOf('### Messages and exit codes'));
  const named = [...cli.matchAll(/^\| (.*?) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`--([a-z-]+)/g)].map((f) => f[1]));
  t.same([...new Set(named)].sort(), Object.keys(EXPECTED).sort());
});
