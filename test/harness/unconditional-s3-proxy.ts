// TEST-ONLY: an HTTP proxy on 127.0.0.1 in front of a real S3 server that behaves like an
// S3-compatible store ignoring `If-None-Match: *`: a conditional PUT the server refuses (412
// Precondition Failed) is answered 200 instead. A real server cannot be told to ignore the
// condition; this is the failure the exclusive-commit probe must catch. Loopback only.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UnconditionalS3Proxy {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function unconditionalS3Proxy(target: string): Promise<UnconditionalS3Proxy> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const up = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer: IncomingMessage) => {
        if (req.method === 'PUT' && answer.statusCode === 412) {
          answer.resume();
          res.writeHead(200, { ETag: '"ignored-condition"', 'Content-Length': '0' });
          res.end();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
