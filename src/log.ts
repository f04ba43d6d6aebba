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

export const out = (text: string): void => write(1, text);
export const warn = (message: string): void => write(2, `WARNING: ${message}\n`);
export const error = (message: string): void => write(2, `ERROR: ${message}\n`);
