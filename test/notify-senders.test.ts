// Who may say READY=1. The notify socket's name is no secret (/proc/net/unix lists it), so the
// sender's credentials decide: the command and what it starts (whatever user they become), or
// root, the caller and the --user. Tried by an ordinary user who finds the socket and writes to it.
import t from 'tap';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { fakeNotifySocket, readPid, requireRoot, sandbox, waitFor } from './helpers.js';
import { asUser, canSwitchUsers, freshUids } from './users-harness.js';

/** The abstract notify socket that process pid bound, read from /proc/net/unix as anyone can. */
function socketOf(pid: number): string | undefined {
  return new RegExp(`@daemonocle/${pid}/\\S+`).exec(readFileSync('/proc/net/unix', 'latin1'))?.[0];
}

t.test("start --notify: another user's READY=1 is ignored, with a WARNING; the start times out", async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [attacker] = freshUids();
  const proc = box.spawn(['start', '--pid-file', box.pidFile, '--name', 'app', '--notify', '--start-timeout', '3', '--', 'sleep', '1000'], { stripFinalNewline: false });
  let address: string | undefined;
  await waitFor('the notify socket', () => (address = socketOf(proc.pid!)) !== undefined);
  const sent = await asUser(attacker, ['systemd-notify', '--no-block', '--ready', '--status=pwned'], { PATH: process.env.PATH, NOTIFY_SOCKET: address });
  t.equal(sent.exitCode, 0, `the attacker's message was sent (${sent.stderr.trim()})`);
  const r = await proc;
  t.equal(r.stdout, 'Starting app ... FAILED\n', 'not OK: the daemon never said READY=1');
  t.match(r.stderr, new RegExp(`^WARNING: Ignored a notification from PID \\d+ \\(uid ${attacker}\\): not the command or a process it started\n`));
  t.match(r.stderr, /ERROR: app timed out waiting for readiness after 3 s/);
  t.equal(r.exitCode, 1);
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
});

t.test('start --notify: a daemon that drops to another user itself may still say READY=1', async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [user] = freshUids();
  const r = await box.cli(['start', '--pid-file', box.pidFile, '--name', 'app', '--notify', '--start-timeout', '30', '--',
    'setpriv', `--reuid=${user}`, `--regid=${user}`, '--clear-groups', '--', 'sh', '-c', 'systemd-notify --ready; exec sleep 1000']);
  t.equal(r.stdout, 'Starting app ... OK\n', r.stderr);
  t.equal(r.stderr, '');
  const status = readFileSync(`/proc/${readPid(box.pidFile)}/status`, 'latin1');
  t.match(status, new RegExp(`^Uid:\\s+${user}\\s`, 'm'), 'the daemon runs as the other user');
  t.equal((await box.cli(['stop', '--pid-file', box.pidFile])).exitCode, 0);
});

t.test("run --notify: another user's messages are not relayed to systemd", async (t) => {
  if (!requireRoot(t) || !canSwitchUsers(t)) return;
  const box = sandbox(t);
  const [attacker] = freshUids();
  const { address, messages } = fakeNotifySocket(t);
  const proc = box.spawn(['run', '--name', 'svc', '--notify', '--', 'sh', '-c', 'systemd-notify --status=own; exec sleep 1000'], { env: { NOTIFY_SOCKET: address } });
  await waitFor("the child's own status", () => messages.some((m) => m.STATUS === 'own'));
  const relay = socketOf(proc.pid!)!;
  const sent = await asUser(attacker, ['systemd-notify', '--no-block', '--ready', '--status=pwned'], { PATH: process.env.PATH, NOTIFY_SOCKET: relay });
  t.equal(sent.exitCode, 0, `the attacker's message was sent (${sent.stderr.trim()})`);
  // The wrapper handles datagrams in order: a message of the child's own, sent after the
  // attacker's, arriving means the attacker's was seen (and dropped).
  // (This sender is root: trusted.)
  await execa('systemd-notify', ['--no-block', '--status=after'], { env: { ...process.env, NOTIFY_SOCKET: relay } });
  await waitFor('the later status', () => messages.some((m) => m.STATUS === 'after'));
  t.same(messages, [{ STATUS: 'own' }, { STATUS: 'after' }], 'neither READY=1 nor the STATUS of the attacker reached systemd');
  proc.kill('SIGTERM');
  const r = await proc;
  t.match(r.stderr, new RegExp(`WARNING: Ignored a notification from PID \\d+ \\(uid ${attacker}\\): not the command or a process it started`));
});
