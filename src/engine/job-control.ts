// A child in a session of its own (`--signal-group`, or any `run` on a terminal) is out of reach
// of the terminal's job control: Ctrl-Z stops only the wrapper. Like dumb-init in its setsid
// mode, the wrapper then stops the child's process group with itself and resumes it when it is
// continued.

const SUSPEND = ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const;

/** Follows suspend/resume for `target` (a pid, or -pgid); returns the function that stops following. */
export function followJobControl(target: number): () => void {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(target, sig);
    } catch {
      // The child is gone; its exit is on its way.
    }
  };
  const suspend = () => {
    send('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP');
  };
  const resume = () => send('SIGCONT');
  for (const sig of SUSPEND) process.on(sig, suspend);
  process.on('SIGCONT', resume);
  return () => {
    for (const sig of SUSPEND) process.removeListener(sig, suspend);
    process.removeListener('SIGCONT', resume);
  };
}
