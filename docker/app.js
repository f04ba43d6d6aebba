// The example service: a tiny HTTP server with no signal handling of its own, the kind of Node
// app that, as PID 1, would ignore `docker stop` for 10 s and then be SIGKILLed.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
createServer((req, res) => res.end('hello from behind daemonocle\n')).listen(port, () => {
  console.log(`listening on ${port} as pid ${process.pid}`);
});
