// The package's public API: what docs/library.md documents, nothing more. The types refer to
// Node's (NodeJS.Signals, Buffer): the reference below makes a consumer's TypeScript load them even
// where its own "types" list does not name node (TypeScript 7's default is none).
/// <reference types="node" preserve="true" />
export { Daemon, type Action, type DaemonOptions, type ShutdownCallback, type Worker } from './library/daemon.js';
export { DaemonError, EXIT, type DaemonErrorCode } from './base/errors.js';
