export { Daemon, type DaemonOptions, type ShutdownCallback, type Worker } from './daemon.js';
export { runCli } from './cli/run-cli.js';
export { DaemonError, EXIT, type DaemonErrorCode } from './errors.js';
export { sdNotify } from './notify.js';
export { inspectPidFile, type PidFileState } from './pidfile.js';
