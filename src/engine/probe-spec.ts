// What a readiness probe is, and how one is written on the command line. Kept apart from the
// probing itself so that parsing options does not load node:net and node:child_process.
import { usageError } from '../errors.js';

export type Probe =
  | { kind: 'port'; host: string; port: number }
  | { kind: 'file'; path: string }
  | { kind: 'cmd'; command: string };

/** `PORT`, `HOST:PORT` or `[IPV6]:PORT`; the host defaults to 127.0.0.1. */
export function parsePortProbe(option: string, value: string): Probe {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value) ?? /^()(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(`${option} takes [HOST:]PORT (e.g. 8080, 127.0.0.1:8080, [::1]:8080), not '${value}'`);
  }
  return { kind: 'port', host: m[1] || '127.0.0.1', port };
}

export function describeProbe(p: Probe): string {
  if (p.kind === 'port') return `port ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  if (p.kind === 'file') return `file ${p.path}`;
  return `command ${p.command}`;
}
