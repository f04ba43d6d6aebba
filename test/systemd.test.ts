// Under a real systemd (252, booted in a throwaway container): Type=notify with run, run --notify
// with a notify-aware child, Type=forking with start + PIDFile=, reload, stop, socket activation.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, fixture, freePort, RUNTIME } from './helpers.js';
import { bootSystemd, canBootSystemd, parseShow } from './systemd-harness.js';

const node = process.execPath;
const dc = `${RUNTIME} ${BIN}`;

t.test('daemonocle under systemd', async (t) => {
  if (!canBootSystemd(t)) return;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'daemonocle-systemd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const units: Record<string, string> = {
    // Type=notify + run: READY=1 after the grace window; reload (HUP) and stop reach the child.
    'plain.service': `[Service]
Type=notify
ExecStart=${dc} run --name plain --grace 0.3 --stdout /out/plain.log -- ${node} ${fixture('signals.js')}
ExecReload=/bin/kill -HUP $MAINPID
`,
    // run --notify: the child's own READY=1 and STATUS, relayed under NotifyAccess=main.
    'aware.service': `[Service]
Type=notify
ExecStart=${dc} run --name aware --notify -- /bin/sh -c 'sleep 0.2; systemd-notify --ready --status="child says hi"; exec sleep 1000'
`,
    // run --notify with a child that never says READY=1: never active.
    'silent.service': `[Service]
Type=notify
TimeoutStartSec=60
ExecStart=${dc} run --name silent --notify -- sleep 1000
`,
    // Classic Type=forking: start detaches, systemd reads the pid file.
    'forking.service': `[Service]
Type=forking
PIDFile=/run/daemonocle/forking.pid
ExecStart=${dc} start --name forking --pid-file /run/daemonocle/forking.pid --grace 0.2 -- sleep 1000
ExecStop=${dc} stop --name forking --pid-file /run/daemonocle/forking.pid
`,
    // Type=notify for a program that knows nothing of systemd: READY=1 when its port opens.
    'probed.service': `[Service]
Type=notify
ExecStart=${dc} run --name probed --ready-port ${port} -- ${node} ${fixture('server-after.js')} ${port} 1500
`,
    // Type=notify for an s6-style program: READY=1 when it writes a newline to fd 3.
    's6style.service': `[Service]
Type=notify
ExecStart=${dc} run --name s6style --ready-fd 3 -- /bin/sh -c 'sleep 1.5; echo >&3; exec sleep 1000'
`,
    // Socket activation: the child sees the socket as fd 3, LISTEN_PID its own pid.
    'activated.socket': `[Socket]
ListenStream=/run/activated.sock
FileDescriptorName=web
`,
    'activated.service': `[Service]
Type=notify
ExecStart=${dc} run --name activated --grace 0.2 -- /bin/sh /units/show-activation.sh
`,
    // run --restart: the command fails twice after being ready, then stays; systemd keeps one
    // MainPID (the wrapper), hears READY=1 once and STATUS=restarting between children.
    'keeper.service': `[Service]
Type=notify
ExecStart=${dc} run --name keeper --restart on-failure --restart-delay 1 --grace 0.2 -- /bin/sh /units/flaky.sh
`,
    'flaky.sh': `echo $$ >> /out/keeper.starts
[ $(wc -l < /out/keeper.starts) -le 2 ] && { sleep 0.5; exit 1; }
exec sleep 1000
`,
    // Not a unit: the activated service's script (no unit-file escaping to worry about).
    'show-activation.sh': `echo "$LISTEN_PID $$ $LISTEN_FDS $LISTEN_FDNAMES" > /out/activated.txt
readlink /proc/$$/fd/3 >> /out/activated.txt
exec sleep 1000
`,
  };
  const check = `
wait_for() { i=0; while [ $i -lt 100 ]; do eval "$1" && return 0; i=$((i+1)); sleep 0.1; done; return 1; }
mkdir -p /run/daemonocle
systemctl start plain.service aware.service forking.service
systemctl start --no-block silent.service
systemctl start --no-block probed.service
wait_for "systemctl show probed.service -p ActiveState --value | grep -qx activating"
systemctl show probed.service -p ActiveState --value > /out/probed-early.txt
wait_for "systemctl is-active -q probed.service"
systemctl show probed.service -p ActiveState,StatusText > /out/probed-late.txt
systemctl start --no-block s6style.service
wait_for "systemctl show s6style.service -p ActiveState --value | grep -qx activating"
systemctl show s6style.service -p ActiveState --value > /out/s6style-early.txt
wait_for "systemctl is-active -q s6style.service"
systemctl show s6style.service -p ActiveState,StatusText > /out/s6style-late.txt
systemctl start keeper.service
systemctl show keeper.service -p MainPID --value > /out/keeper-first-mainpid.txt
wait_for "systemctl show keeper.service -p StatusText --value | grep -q '^restarting'"
systemctl show keeper.service -p ActiveState,StatusText > /out/keeper-restarting.txt
wait_for "[ \\$(wc -l < /out/keeper.starts) -ge 3 ] && systemctl show keeper.service -p StatusText --value | grep -q 'is running'"
systemctl show keeper.service -p ActiveState,StatusText,MainPID,NRestarts > /out/keeper-late.txt
systemctl start activated.socket
systemctl start activated.service
props=Id,ActiveState,SubState,MainPID,StatusText,Result,NRestarts
systemctl show plain.service aware.service silent.service forking.service activated.service -p $props > /out/up.txt
for u in plain aware forking; do
  pid=$(systemctl show $u.service -p MainPID --value)
  tr '\\0' ' ' < /proc/$pid/cmdline > /out/$u.cmdline
done
cat /run/daemonocle/forking.pid > /out/forking.pidfile
systemctl reload plain.service
wait_for "grep -q 'got SIGHUP' /out/plain.log"
systemctl stop plain.service aware.service silent.service forking.service activated.service probed.service s6style.service keeper.service
systemctl show plain.service aware.service silent.service forking.service activated.service probed.service s6style.service keeper.service -p $props > /out/down.txt
`;
  const boot = await bootSystemd(dir, units, check);
  const up = parseShow(boot.read('up.txt'));
  t.ok(Object.keys(up).length > 0, `systemd booted and reported (${boot.log.split('\n').slice(-3).join(' | ')})`);

  t.test('Type=notify + run: active, MainPID is the wrapper, a status text', async (t) => {
    t.equal(up['plain.service']?.ActiveState, 'active');
    t.equal(up['plain.service']?.SubState, 'running');
    t.match(boot.read('plain.cmdline'), /daemonocle\.cjs run --name plain /, 'MainPID runs daemonocle run');
    t.match(up['plain.service']?.StatusText, /^plain is running \(PID \d+\)$/);
    t.match(boot.read('plain.log'), /got SIGHUP\n/, 'systemctl reload reached the child');
  });

  t.test('run --notify: the child\'s READY=1 and STATUS, relayed', async (t) => {
    t.equal(up['aware.service']?.ActiveState, 'active');
    t.equal(up['aware.service']?.StatusText, 'child says hi');
    t.match(boot.read('aware.cmdline'), /daemonocle\.cjs run --name aware --notify/);
    t.equal(up['silent.service']?.ActiveState, 'activating', 'a child that never notifies never looks ready');
  });

  t.test('Type=forking + start + PIDFile: MainPID is the daemon from the pid file', async (t) => {
    t.equal(up['forking.service']?.ActiveState, 'active');
    const pidFile = boot.read('forking.pidfile');
    t.equal(up['forking.service']?.MainPID, pidFile.split('\n')[0]);
    t.match(boot.read('forking.cmdline'), /^sleep 1000 $/, 'the daemon is the command itself');
  });

  t.test('socket activation: fd 3 is the socket, LISTEN_PID is the child', async (t) => {
    const [line, target] = boot.read('activated.txt').split('\n');
    const [listenPid, ownPid, fds, names] = (line ?? '').split(' ');
    t.equal(listenPid, ownPid, 'LISTEN_PID equals the child\'s own pid');
    t.equal(fds, '1');
    t.equal(names, 'web', 'LISTEN_FDNAMES kept');
    t.match(target, /^socket:\[\d+\]$/, 'fd 3 is a socket');
  });

  t.test('Type=notify + run --ready-port: activating until the port opens, then active', async (t) => {
    t.equal(boot.read('probed-early.txt'), 'activating\n');
    const late = parseShow(`Id=probed.service\n${boot.read('probed-late.txt')}`)['probed.service'];
    t.equal(late?.ActiveState, 'active');
    t.match(late?.StatusText, new RegExp(`^probed is running \\(PID \\d+\\), port 127\\.0\\.0\\.1:${port} ready$`));
  });

  t.test('Type=notify + run --ready-fd: activating until the newline on fd 3, then active', async (t) => {
    t.equal(boot.read('s6style-early.txt'), 'activating\n');
    const late = parseShow(`Id=s6style.service\n${boot.read('s6style-late.txt')}`)['s6style.service'];
    t.equal(late?.ActiveState, 'active');
    t.match(late?.StatusText, /^s6style is running \(PID \d+\), a newline on fd 3 ready$/);
  });

  t.test('run --restart: one MainPID through three children, READY=1 once, STATUS=restarting between', async (t) => {
    const restarting = parseShow(`Id=keeper.service\n${boot.read('keeper-restarting.txt')}`)['keeper.service'];
    t.equal(restarting?.ActiveState, 'active', 'active while it waits to restart (READY=1 came with the first child)');
    t.match(restarting?.StatusText, /^restarting keeper \(attempt [23], next in [12] s\)$/);
    const late = parseShow(`Id=keeper.service\n${boot.read('keeper-late.txt')}`)['keeper.service'];
    t.equal(late?.ActiveState, 'active');
    t.match(late?.StatusText, /^keeper is running \(PID \d+\)$/);
    t.equal(late?.MainPID, boot.read('keeper-first-mainpid.txt').trim(), 'the same MainPID: the wrapper restarted the command, not systemd');
    t.equal(late?.NRestarts, '0', 'systemd itself restarted nothing');
    t.equal(boot.read('keeper.starts').trim().split('\n').length, 3, 'three starts of the command');
  });

  t.test('systemctl stop: every unit inactive with Result=success', async (t) => {
    const down = parseShow(boot.read('down.txt'));
    for (const unit of ['plain.service', 'aware.service', 'silent.service', 'forking.service', 'activated.service', 'probed.service', 's6style.service', 'keeper.service']) {
      t.equal(down[unit]?.ActiveState, 'inactive', `${unit} inactive`);
      t.equal(down[unit]?.Result, 'success', `${unit} Result=success`);
    }
  });
});
