// The slot's control endpoint until runtime/src/control/server.ts (checkpoints, savepoints,
// bearer-token checks) takes over: /healthz, /readyz, /metrics and GET /v1/status of the
// contract. Extend by passing `routes` (method + path → handler); anything unknown is 404.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { StatusResponse } from '../control/contract.ts';
import { TributaryError } from '../errors.ts';

export interface StatusSource {
  status(): StatusResponse;
  /** Ready = linked with its peers and running (or finished). */
  ready(): boolean;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface StatusServer {
  port: number;
  close(): Promise<void>;
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startStatusServer(o: { host: string; port: number; source: StatusSource; registry: Registry; routes?: Record<string, Route> }): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const key = `${req.method ?? 'GET'} ${path}`;
    const route = o.routes?.[key];
    if (route) {
      Promise.resolve(route(req, res)).catch((e: unknown) => json(res, 500, { error: (e as Error).message }));
      return;
    }
    switch (key) {
      case 'GET /healthz':
        json(res, 200, { ok: true });
        return;
      case 'GET /readyz':
        json(res, o.source.ready() ? 200 : 503, { ready: o.source.ready(), state: o.source.status().state });
        return;
      case 'GET /v1/status':
        json(res, 200, o.source.status());
        return;
      case 'GET /metrics':
        o.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': o.registry.contentType });
            res.end(text);
          },
          (e: unknown) => json(res, 500, { error: (e as Error).message }),
        );
        return;
      default:
        json(res, 404, { error: `no route ${key}` });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new TributaryError('TRIB_NET_BIND', `control API cannot listen on ${o.host}:${o.port}: ${e.message}`, { cause: e })));
    server.listen({ host: o.host, port: o.port, exclusive: true }, () => resolve());
  });
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : o.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
