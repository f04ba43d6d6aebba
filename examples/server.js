#!/usr/bin/env node
// The web server of the README's examples: answers every request with "hello", on $PORT (8080),
// and closes cleanly on SIGTERM so `daemonocle stop` sees it exit.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const server = createServer((_req, res) => res.end('hello\n'));
server.listen(port, () => console.log(`listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
