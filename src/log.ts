// The one place that writes status text and WARNING:/ERROR: lines.
import { writeSync } from 'node:fs';

function write(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // A closed stdout/stderr must not turn into a crash.
  }
}

export const out = (text: string): void => write(1, text);
export const warn = (message: string): void => write(2, `WARNING: ${message}\n`);
export const error = (message: string): void => write(2, `ERROR: ${message}\n`);
