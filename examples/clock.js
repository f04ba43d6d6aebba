#!/usr/bin/env node
// A tiny demo service: writes the time to its stdout every second, stops cleanly on SIGTERM.
let ticks = 0;
const timer = setInterval(() => {
  ticks += 1;
  process.stdout.write(`${new Date().toISOString()} tick ${ticks}\n`);
}, 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.stdout.write(`stopping after ${ticks} ticks\n`);
  process.exit(0);
});
process.stdout.write(`clock started as pid ${process.pid}\n`);
