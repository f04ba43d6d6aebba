// An error about an option names it as the face the user speaks: the CLI's flag (`--stdout`), a
// Daemon's option (`stdoutFile`). The engine builds such messages from the option's key, and the
// face words them (src/base/errors.ts: optionError; the CLI's main.ts and the library's daemon.ts).
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, libAppEnv, sandbox } from './helpers.js';
import { optionError, wordedMessage } from '../dist/base/errors.js';
import { flagWords } from '../dist/options/registry.js';

t.test('an unwritable --stdout: the CLI says --stdout', async (t) => {
  const box = sandbox(t);
  const dir = join(box.dir, 'logs');
  mkdirSync(dir);
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--stdout', dir, '--', 'sleep', '10']);
  t.equal(r.stdout, 'Starting sleep ... FAILED\n');
  t.equal(r.stderr, `ERROR: Cannot open --stdout file ${dir}: is a directory\n`);
  t.equal(r.exitCode, 1);
});

t.test('an unwritable stdoutFile: the library says stdoutFile, never --stdout', async (t) => {
  const box = sandbox(t);
  const dir = join(box.dir, 'logs');
  mkdirSync(dir);
  const r = await box.node(fixture('lib-app.js'), ['start'], { env: libAppEnv(box, { APP_STDOUT: dir }) });
  t.equal(r.stderr, `ERROR: Cannot open stdoutFile file ${dir}: is a directory\n`);
  t.equal(r.exitCode, 1);
});

t.test('a message built from keys: the library words by default, each face its own words', async (t) => {
  const err = optionError('usage', (o) => `${o('keepFds')} and ${o('readyFd')} may use at most three of the fds 3-9`);
  t.equal(err.message, 'keepFds and readyFd may use at most three of the fds 3-9');
  t.equal(wordedMessage(err, flagWords), '--keep-fds and --ready-fd may use at most three of the fds 3-9');
  t.equal(err.exitCode, 2);
  t.equal(flagWords('stdoutFile'), '--stdout');
  t.equal(flagWords('uid'), '--user');
  t.equal(flagWords('worker'), 'worker', 'an option with no flag keeps its key');
});
