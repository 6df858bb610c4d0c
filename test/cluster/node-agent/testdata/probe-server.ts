// Test pod program: serves HTTP on $POD_IP:$PORT. /ready answers 503 until the file
// $TRIBUTARY_POD_ROOT/out/ready-now exists (so readiness is decided by the probe, when the
// test says so); /message returns the mounted ConfigMap's greeting, which it also copies
// into the shared emptyDir for the other container of the pod.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const root = process.env.TRIBUTARY_POD_ROOT ?? '/';
const host = process.env.POD_IP ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const greeting = readFileSync(join(root, 'etc/config/greeting'), 'utf8');
mkdirSync(join(root, 'shared'), { recursive: true });
writeFileSync(join(root, 'shared/message'), greeting);

const server = createServer((req, res) => {
  if (req.url === '/ready') {
    const ready = existsSync(join(root, 'out/ready-now'));
    res.writeHead(ready ? 200 : 503).end(ready ? 'ready' : 'not yet');
  } else if (req.url === '/message') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(greeting);
  } else {
    res.writeHead(404).end();
  }
});
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
