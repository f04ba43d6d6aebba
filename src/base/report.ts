// The one place errors become an ERROR line and an exit code, at the CLI/doAction edge, each
// option a message names worded as that face names it (`words`: the CLI's flags; the library's
// option keys by default).
import { DaemonError, EXIT, OPTION_KEYS, wordedMessage, type OptionWords } from './errors.js';
import { error } from './log.js';

export function reportError(err: unknown, action: string | undefined, usageLine: string, words: OptionWords = OPTION_KEYS): number {
  if (err instanceof DaemonError) {
    error(wordedMessage(err, words));
    if (err.code === 'usage') {
      process.stderr.write(`${usageLine}\n`);
      return EXIT.usage;
    }
    // status and list answer "unknown" (4) where other actions fail (1), as LSB status does.
    const statusLike = action === 'status' || action === 'list';
    if (err.code === 'pidfile-unusable') return statusLike ? EXIT.unknownStatus : EXIT.failure;
    return err.exitCode === EXIT.unknownStatus && !statusLike ? EXIT.failure : err.exitCode;
  }
  error(`Unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.DAEMONOCLE_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  return EXIT.failure;
}
