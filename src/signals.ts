import { constants } from 'node:os';

const byNumber = new Map<number, string>();
for (const [name, num] of Object.entries(constants.signals)) {
  if (!byNumber.has(num)) byNumber.set(num, name);
}

/** "SIGTERM" for 15; "signal 99" when unknown. */
export function signalName(signal: number): string {
  return byNumber.get(signal) ?? `signal ${signal}`;
}

export function signalNumber(name: string): number | undefined {
  const upper = name.toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (/^\d+$/.test(name)) return byNumber.has(Number(name)) ? Number(name) : undefined;
  return (constants.signals as Record<string, number>)[full];
}

export const SIGTERM = constants.signals.SIGTERM;
export const SIGKILL = constants.signals.SIGKILL;
export const SIGHUP = constants.signals.SIGHUP;
