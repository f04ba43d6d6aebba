// The example units in systemd/ are read by systemd's own parser: no unknown key, no bad value.
// (Their shapes run under a real systemd in systemd.test.ts and systemd-library.test.ts.)
import t from 'tap';
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, unavailable } from './helpers.js';

const ANALYZE = '/usr/bin/systemd-analyze';
// The examples name /usr/bin/daemonocle and /srv paths of a machine they are installed on.
const ABSENT_COMMAND = /^\S+: Command \S+ is not executable: No such file or directory$/;

t.test('systemd/ example units pass systemd-analyze verify', async (t) => {
  if (!existsSync(ANALYZE)) return void unavailable(t, 'systemd-analyze (systemd)');
  const dir = join(ROOT, 'systemd');
  const units = readdirSync(dir).filter((f) => /\.(service|socket)$/.test(f));
  t.ok(units.length >= 6, `units found: ${units.join(', ')}`);
  for (const unit of units) {
    const r = await execa(ANALYZE, ['verify', '--man=no', join(dir, unit)], { reject: false, all: true });
    const complaints = String(r.all ?? '').split('\n').filter((l) => l !== '' && !ABSENT_COMMAND.test(l));
    t.same(complaints, [], `${unit}: nothing but the absent command`);
  }
});
