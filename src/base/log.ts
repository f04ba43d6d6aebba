// The one place that writes status text and WARNING:/ERROR: lines. Straight to the fd: no stream
// (process.stdout would load Node's stream modules, about 1 ms of every action).
import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

function write(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let done = 0;
  let waited = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (err) {
      // A non-blocking pipe that is full (its other end shared with a process that set O_NONBLOCK)
      // gets a moment to drain; a closed stdout/stderr must not turn into a crash.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= 10_000) return;
      Atomics.wait(pause, 0, 0, 1);
      waited += 1;
    }
  }
}

/**
 * Text a person reads, made safe for a terminal: C0 controls, DEL and C1 controls (U+0080-U+009F,
 * which a terminal may take as CSI and friends) become `\xNN`, a newline `\n` and a tab `\t`, so a
 * name, path or command line can neither move the cursor, recolour or retitle the terminal, nor
 * forge a line. Everything else, a backslash included, is left as it is (the escape is for
 * safety, not a reversible encoding: `--json` carries the exact text). Text without control
 * characters comes back unchanged.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export const out = (text: string): void => write(1, text);

const sortedKeys = (row: object): object => Object.fromEntries(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1)));

/** `--json`: one line on stdout, each object's keys (or each row's, for a list) in order. */
export const outJson = (value: object): void =>
  out(`${JSON.stringify(Array.isArray(value) ? value.map(sortedKeys) : sortedKeys(value))}\n`);
// A WARNING or ERROR is one line: every name, path and value in it is shown escaped.
export const warn = (message: string): void => write(2, `WARNING: ${escapeForTerminal(message)}\n`);
export const error = (message: string): void => write(2, `ERROR: ${escapeForTerminal(message)}\n`);
