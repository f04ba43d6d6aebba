// Readiness over a pipe, s6's notification-fd convention: the command gets the write end at fd N
// and writes a newline there once it is ready. EOF before a newline means it never will be.
import type { Readable } from 'node:stream';

/** Resolves true at the first newline on `stream`, false at EOF or an error before one. */
export function newlineOn(stream: Readable | null | undefined): Promise<boolean> {
  if (!stream) return Promise.resolve(false);
  return new Promise((resolve) => {
    let done = false;
    const finish = (ready: boolean) => {
      if (done) return;
      done = true;
      resolve(ready);
    };
    // Whatever comes after the newline is read and dropped, so the command never blocks on it.
    stream.on('data', (chunk: Buffer) => chunk.includes(0x0a) && finish(true));
    stream.once('end', () => finish(false));
    stream.once('close', () => finish(false));
    stream.once('error', () => finish(false));
  });
}
