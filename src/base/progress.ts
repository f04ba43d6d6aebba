// A `start` that waits on a terminal shows what it waits for on its one `Starting NAME ...` line:
// the seconds so far, each condition (the grace window, READY=1, a probe, a newline on an fd),
// and the daemon's latest sd_notify STATUS= text. Redrawn in place (a carriage return and an
// erase-line) at most 10 times a second, then erased back to `Starting NAME ... ` for the final
// word. Only on a terminal, and not with TERM=dumb: elsewhere nothing of this is written.

export interface StartProgress {
  /** A condition the start waits for, under a stable key: how it stands now ("READY=1", "/run/app.sock ✓"). */
  condition(key: string, text: string): void;
  /** The daemon's latest STATUS= text. */
  status(text: string): void;
}

export interface ProgressLine extends StartProgress {
  /** Back to `prefix` alone, for the caller's `OK` or `FAILED`. */
  end(): void;
}

const REDRAW_MS = 100;
const ERASE = '\r\x1b[2K';

export function progressLine(prefix: string, stream: NodeJS.WriteStream = process.stdout): ProgressLine | undefined {
  if (!stream.isTTY || process.env.TERM === 'dumb') return undefined;
  const started = process.hrtime.bigint();
  const conditions = new Map<string, string>();
  let statusText = '';
  let drawn = false;
  const draw = () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const waits = [...conditions.values()].join(', ');
    const parts = [`${seconds.toFixed(1)} s`, waits === '' ? '' : `waiting for ${waits}`, statusText === '' ? '' : `"${statusText}"`];
    const line = `${prefix}${parts.filter(Boolean).join(' · ')}`;
    // Never wider than the terminal: a wrapped line could not be redrawn in place.
    stream.write(`${ERASE}${[...line].slice(0, Math.max(prefix.length, (stream.columns || 80) - 1)).join('')}`);
    drawn = true;
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    condition: (key, text) => void conditions.set(key, text),
    status: (text) => {
      statusText = text.replace(/[\x00-\x1f\x7f]/g, ' ');
    },
    end: () => {
      clearInterval(timer);
      if (drawn) stream.write(`${ERASE}${prefix}`);
    },
  };
}
