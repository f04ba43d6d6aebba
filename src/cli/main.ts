import { createRequire } from 'node:module';
import { EXIT } from '../base/errors.js';
import { out } from '../base/log.js';
import { reportError } from '../base/report.js';
import { helpText, USAGE } from '../options/help.js';
import { parseCli } from '../options/argv.js';
import { flagWords } from '../options/registry.js';
import { assertSupportedPlatform } from '../base/platform.js';
import type { Action } from '../base/types.js';
import type { ActionOptions } from '../options/resolve.js';

const ACTION_MODULES: Record<Action, () => Promise<(opts: ActionOptions) => Promise<number>>> = {
  start: async () => (await import('../actions/start.js')).start,
  stop: async () => (await import('../actions/stop.js')).stop,
  restart: async () => (await import('../actions/restart.js')).restart,
  status: async () => (await import('../actions/status.js')).status,
  reload: async () => (await import('../actions/reload.js')).reload,
  run: async () => (await import('../actions/run.js')).run,
  list: async () => (await import('../actions/list.js')).list,
};

/** Runs the CLI; resolves to the exit code. Every failure is an ERROR line, never a stack trace. */
export async function runCli(argv: string[]): Promise<number> {
  let action: Action | undefined;
  try {
    const parsed = parseCli(argv);
    if (parsed.kind === 'version') {
      out(`${createRequire(import.meta.url)('../../package.json').version}\n`);
      return EXIT.ok;
    }
    if (parsed.kind === 'help') {
      out(helpText(parsed.action));
      return EXIT.ok;
    }
    action = parsed.action;
    assertSupportedPlatform();
    const run = await ACTION_MODULES[action]();
    return await run(parsed.options);
  } catch (err) {
    return reportError(err, action, USAGE, flagWords);
  }
}
