// The signal state `run` hands on to its command, as tini does before it execs: the signals the
// wrapper was started with ignored (nohup's HUP, the INT and QUIT a shell's `&` ignores) or blocked.
// Node's spawn() resets every disposition and the mask in the child, so the command is exec'd
// through GNU `env --ignore-signal=... --block-signal=...`, which sets them back (the exec chain's
// env link, exec-chain.ts).
//
// Node also resets them in its own process as it boots (measured on Node 20: `nohup node` sees
// only the PIPE and XFSZ it ignores itself), before any of our code runs. So the package's bin
// records them first: its launcher line (rollup.config.mjs) reads SigIgn/SigBlk from
// /proc/self/status in /bin/sh and passes them in DAEMONOCLE_INHERITED_SIGNALS. Started another
// way (`node dist/bin/daemonocle.cjs`, Bun) they are read here, before any handler is installed:
// Bun keeps them, Node has lost them; what the runtime ignores itself (PIPE, XFSZ) does not count.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

export interface InheritedSignals {
  /** Signal numbers the wrapper inherited as ignored (SIG_IGN). */
  ignored: number[];
  /** Signal numbers the wrapper inherited as blocked. */
  blocked: number[];
}

const VARIABLE = 'DAEMONOCLE_INHERITED_SIGNALS';
const { SIGKILL, SIGSTOP, SIGPIPE, SIGXFSZ } = constants.signals;
/** What Node and Bun ignore in their own process: in-process, these say nothing about the parent. */
const RUNTIME_IGNORES = new Set<number>([SIGPIPE, SIGXFSZ]);

let recorded: InheritedSignals | undefined;

/** Signal numbers set in a /proc status mask (hex, bit n-1 for signal n); KILL and STOP never. */
function bits(hex: string | undefined): number[] {
  if (hex === undefined || !/^[0-9a-f]{1,16}$/i.test(hex)) return [];
  const mask = BigInt(`0x${hex}`);
  const found: number[] = [];
  for (let n = 1; n <= 64; n++) if ((mask >> BigInt(n - 1)) & 1n && n !== SIGKILL && n !== SIGSTOP) found.push(n);
  return found;
}

function fromLauncher(value: string): InheritedSignals | undefined {
  const [ignored, blocked] = value.trim().split(/\s+/);
  if (ignored === undefined || blocked === undefined) return undefined;
  return { ignored: bits(ignored), blocked: bits(blocked) };
}

function fromProc(): InheritedSignals {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'latin1');
  } catch {
    // No /proc: nothing is known, nothing is restored.
  }
  const field = (name: string) => new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
  return { ignored: bits(field('SigIgn')).filter((n) => !RUNTIME_IGNORES.has(n)), blocked: bits(field('SigBlk')) };
}

/**
 * Records the inherited state once; the CLI calls it first thing, before any signal handler is
 * installed. The launcher's variable is taken out of the environment, so no command inherits it.
 */
export function recordInheritedSignals(): InheritedSignals {
  if (recorded !== undefined) return recorded;
  const passed = process.env[VARIABLE];
  delete process.env[VARIABLE];
  recorded = (passed !== undefined && fromLauncher(passed)) || fromProc();
  return recorded;
}
