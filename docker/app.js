// The example service: a tiny HTTP server. On SIGTERM it stops taking connections, says so, and
// exits 0 once the open ones are done (what an orchestrator's stop asks for). Reaping orphans and
// passing the exit code on is left to daemonocle run, its PID 1.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const server = createServer((req, res) => res.end('hello from behind daemonocle\n')).listen(port, () => {
  console.log(`listening on ${port} as pid ${process.pid}`);
});

process.on('SIGTERM', () => {
  console.log('SIGTERM: closing the server');
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
});
