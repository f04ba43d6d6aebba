import { DaemonError } from './errors.js';

/** Daemons here are Unix processes (fork, sessions, signals, /proc); Windows has none of that. */
export function assertUnix(platform: string = process.platform): void {
  if (platform === 'win32') {
    throw new DaemonError('unsupported', 'daemonocle needs Linux or another Unix; Windows is not supported');
  }
}
