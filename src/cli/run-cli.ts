import { createRequire } from 'node:module';
import { DaemonError, EXIT } from '../errors.js';
import { error, out } from '../log.js';
import { helpText, USAGE } from './help.js';
import { parseCli, type Action } from './parse.js';
import type { ActionOptions } from '../options.js';

const ACTION_MODULES: Record<Action, () => Promise<(opts: ActionOptions) => Promise<number>>> = {
  start: async () => (await import('../actions/start.js')).start,
  stop: async () => (await import('../actions/stop.js')).stop,
  restart: async () => (await import('../actions/restart.js')).restart,
  status: async () => (await import('../actions/status.js')).status,
  reload: async () => (await import('../actions/reload.js')).reload,
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
    const run = await ACTION_MODULES[action]();
    return await run(parsed.options);
  } catch (err) {
    return report(err, action);
  }
}

function report(err: unknown, action: Action | undefined): number {
  if (err instanceof DaemonError) {
    error(err.message);
    if (err.code === 'usage') {
      process.stderr.write(`${USAGE}\n`);
      return EXIT.usage;
    }
    if (err.code === 'pidfile-unusable') return action === 'status' ? EXIT.unknownStatus : EXIT.failure;
    return err.exitCode === EXIT.unknownStatus && action !== 'status' ? EXIT.failure : err.exitCode;
  }
  error(`Unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.DAEMONOCLE_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  return EXIT.failure;
}
