// A library daemon under a real systemd (252, booted in a throwaway container): `detach: 'auto'`
// stays in front under Type=notify, feeds WatchdogSec= from its event loop, reloads in place
// (re-executing itself: same MainPID, and the new image feeds the watchdog), stops cleanly; a
// daemon whose event loop hangs is caught by the watchdog.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, RUNTIME } from './helpers.js';
import { bootSystemd, canBootSystemd, parseShow } from './systemd-harness.js';

const app = `${RUNTIME} ${fixture('lib-app.js')}`;

t.test('a library daemon under systemd', async (t) => {
  if (!canBootSystemd(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'daemonocle-systemd-lib-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const units: Record<string, string> = {
    'lib.service': `[Service]
Type=notify
WatchdogSec=1
Environment=APP_MODE=ready APP_PID_FILE=/run/lib.pid APP_CALLBACK_LOG=/out/lib-callback.log
ExecStart=${app} start
ExecReload=/bin/kill -HUP $MAINPID
`,
    // Ready, then its event loop hangs: the pings stop. A hung loop cannot run a handler for the
    // watchdog's SIGABRT, so systemd's SIGKILL after TimeoutAbortSec= ends it.
    'once.service': `[Service]
Type=notify
Environment=APP_MODE=ready APP_PID_FILE=/run/once.pid APP_CALLBACK_LOG=/out/once-callback.log
ExecStart=${app} start
`,
    'hang.service': `[Service]
Type=notify
WatchdogSec=1
TimeoutAbortSec=2
LimitCORE=0
Environment=APP_MODE=hang APP_PID_FILE=/run/hang.pid
ExecStart=${app} start
`,
  };
  const check = `
prop() { systemctl show "$1" -p "$2" --value; }
# Waits (up to 10 s) until property $2 of unit $1 differs from $3.
changes() { i=0; while [ $i -lt 100 ]; do [ "$(prop "$1" "$2")" != "$3" ] && return 0; i=$((i+1)); sleep 0.1; done; return 1; }
# Waits (up to 15 s) until command $1 succeeds.
until_ok() { i=0; while [ $i -lt 150 ]; do eval "$1" && return 0; i=$((i+1)); sleep 0.1; done; return 1; }
props=Id,ActiveState,SubState,MainPID,Result,WatchdogUSec
systemctl start once.service
systemctl stop once.service
systemctl show once.service -p $props > /out/once.txt
systemctl start lib.service
systemctl show lib.service -p $props > /out/up.txt
first=$(prop lib.service MainPID)
tr '\\0' ' ' < /proc/$first/cmdline > /out/first.cmdline
w=$(prop lib.service WatchdogTimestampMonotonic)
changes lib.service WatchdogTimestampMonotonic "$w"; echo $? > /out/fed-before-reload.txt
systemctl reload lib.service
# The worker says "worker ready PID" each time it starts.
until_ok '[ "$(journalctl -u lib.service -o cat | grep -c "^worker ready")" = 2 ]'; echo $? > /out/restarted.txt
until_ok '[ "$(prop lib.service ActiveState)" = active ]'
w=$(prop lib.service WatchdogTimestampMonotonic)
changes lib.service WatchdogTimestampMonotonic "$w"; echo $? > /out/fed-after-reload.txt
echo "$first $(prop lib.service MainPID) $(head -n1 /run/lib.pid)" > /out/pids.txt
systemctl show lib.service -p $props,NRestarts > /out/reloaded.txt
systemctl stop lib.service
systemctl show lib.service -p $props > /out/down.txt
journalctl -u lib.service -o cat > /out/journal.txt
[ -e /run/lib.pid ] && echo present > /out/pidfile-after-stop.txt || echo removed > /out/pidfile-after-stop.txt
systemctl start hang.service
until_ok '[ "$(prop hang.service Result)" = watchdog ]'; echo $? > /out/hang-caught.txt
until_ok '[ "$(prop hang.service ActiveState)" = failed ]'
systemctl show hang.service -p $props > /out/hang.txt
`;
  const boot = await bootSystemd(dir, units, check);
  const up = parseShow(boot.read('up.txt'))['lib.service'];
  t.ok(up, `systemd booted and reported (${boot.log.split('\n').slice(-3).join(' | ')})`);

  t.test('Type=notify: in front (detach auto), active once ready() was called', async (t) => {
    t.equal(up?.ActiveState, 'active');
    t.equal(up?.WatchdogUSec, '1s');
    t.match(boot.read('first.cmdline'), /lib-app\.js start $/, 'MainPID is the script itself, not a detached copy');
  });

  t.test('WatchdogSec=: the worker\'s event loop feeds it, before and after a reload', async (t) => {
    t.equal(boot.read('fed-before-reload.txt'), '0\n', 'WATCHDOG=1 arrived');
    t.equal(boot.read('fed-after-reload.txt'), '0\n', 'and again from the re-executed worker');
  });

  t.test('systemctl reload: the daemon re-executes itself in place; MainPID and pid file unchanged', async (t) => {
    t.equal(boot.read('restarted.txt'), '0\n', 'the worker started a second time');
    const [first, main, inPidFile] = boot.read('pids.txt').trim().split(' ');
    t.equal(main, first, 'MainPID is the same process');
    t.equal(inPidFile, first, 'the pid file still names it');
    const reloaded = parseShow(boot.read('reloaded.txt'))['lib.service'];
    t.equal(reloaded?.ActiveState, 'active');
    t.equal(reloaded?.NRestarts, '0', 'not restarted by systemd');
    const ours = boot.read('journal.txt').split('\n').filter((l) => /^(Starting app|Reloading app|worker ready)/.test(l));
    t.same(ours, ['Starting app ... OK', `worker ready ${first}`, 'Reloading app ... OK', `worker ready ${first}`], 'what the daemon wrote');
  });

  t.test('systemctl stop: Result=success, the callback told why, the pid file removed', async (t) => {
    const once = parseShow(boot.read('once.txt'))['once.service'];
    t.equal(once?.ActiveState, 'inactive', 'stopped without a reload: inactive');
    t.equal(once?.Result, 'success', 'a death by SIGTERM, not exit code 143');
    t.equal(boot.read('once-callback.log'), 'Terminated by SIGTERM (15)|-15\n');
    const down = parseShow(boot.read('down.txt'))['lib.service'];
    t.equal(down?.ActiveState, 'inactive', 'stopped after a reload: inactive');
    t.equal(down?.Result, 'success');
    t.equal(boot.read('lib-callback.log'), 'Shutting down for reload|0\nTerminated by SIGTERM (15)|-15\n');
    t.equal(boot.read('pidfile-after-stop.txt'), 'removed\n');
  });

  t.test('a hung event loop stops the pings: the watchdog catches it', async (t) => {
    t.equal(boot.read('hang-caught.txt'), '0\n', 'Result=watchdog');
    const hang = parseShow(boot.read('hang.txt'))['hang.service'];
    t.equal(hang?.Result, 'watchdog');
    t.equal(hang?.ActiveState, 'failed');
  });
});
