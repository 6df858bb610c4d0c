// The operator's probe and metrics endpoint: /healthz (the process serves), /readyz (the
// caller's readiness check, e.g. Manager.ready(): caches synced), /metrics (the registry).
// Binds where told (loopback in tests); port 0 picks a free port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  registry: Registry;
  /** The readiness check; a detail string is served as the body (why it is not ready). */
  ready: () => boolean | { ok: boolean; detail: string };
  host?: string;
  port?: number;
}

export interface ProbeServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startProbeServer(opts: ProbeServerOptions): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const r = opts.ready();
      const { ok, detail } = typeof r === 'boolean' ? { ok: r, detail: r ? 'ok' : 'not ready' } : r;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(detail);
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
