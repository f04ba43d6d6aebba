import { DaemonError } from './errors.js';

/**
 * Linux only until another Unix is tested: `start` reads /proc (the daemon's start time, its pid
 * from the session leader's subshell), execs through GNU env --default-signal, and uses prctl
 * (child subreaper) and pidfds. README "Other platforms" lists what a port would need.
 */
export function assertSupportedPlatform(platform: string = process.platform): void {
  if (platform !== 'linux') {
    throw new DaemonError('unsupported', `daemonocle runs on Linux only (this is ${platform}); see "Other platforms" in its README`);
  }
}
