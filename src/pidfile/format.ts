// The pid file's format, defined once: line 1 the bare pid, line 2 the daemon's start time in clock
// ticks since boot (field 22 of /proc/PID/stat), so identity survives wall-clock changes.
// sh/session-leader.sh writes the same two lines for a detached start (test/session-leader.test.ts
// holds its copy to this one).

const MAX_PID = 4194304;

/** What a pid file says: the pid, and the start time when it was written by this tool. */
interface PidFileContent {
  pid: number;
  startTime: number | undefined;
}

/** The bytes of a pid file naming pid, started at startTime (clock ticks since boot). */
export function formatPidFile(pid: number, startTime: number): string {
  return `${pid}\n${startTime}\n`;
}

/**
 * A pid file's text, or undefined when it is not one. A bare pid (written by another tool) is
 * accepted without a start time; pid 1 only with one.
 */
export function parsePidFile(text: string): PidFileContent | undefined {
  const lines = text.split('\n');
  const first = lines[0]?.trim() ?? '';
  if (!/^\d{1,10}$/.test(first)) return undefined;
  const pid = Number(first);
  if (pid < 1 || pid > MAX_PID) return undefined;
  const second = lines[1]?.trim() ?? '';
  // Pid 1 only as written by `run --pid-file` running as PID 1 (a container), start time and all.
  if (second === '') return pid === 1 ? undefined : { pid, startTime: undefined };
  if (!/^\d{1,20}$/.test(second)) return undefined;
  return { pid, startTime: Number(second) };
}
