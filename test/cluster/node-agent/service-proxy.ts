// The kube-apiserver's route to Services. The cluster has no kube-proxy, so a Service's
// cluster IP routes nowhere; the API server's egress selector sends its "cluster" traffic
// (webhooks and aggregated APIs addressed by Service, the proxy subresources) through this
// HTTP CONNECT proxy on a Unix socket. `CONNECT <cluster IP>:<port>` is connected to a ready
// pod of that Service (service-routing.ts); any other address is dialed as is, so traffic the
// API server sent directly before still goes where it did.
// Invariants: the Service and its pods are read at CONNECT time (a tunnel is set up once per
// kept-alive connection, so this costs two API reads per connection, not per request); a
// CONNECT that cannot be routed is answered 503 with the reason, which the API server
// reports (e.g. `failed calling webhook ... Service ns/name has no ready pod serving port 443`).
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod, Service } from './kube-types.ts';
import { selectorOf, serviceByClusterIp, serviceTarget, type Target } from './service-routing.ts';

const maxHeadBytes = 8 << 10;
const connectRequest = /^CONNECT (\[[^\]]+\]|[^\s:]+):(\d+) HTTP\/1\.[01]$/;

export interface ServiceProxyOptions {
  socketPath: string;
  api: Pick<KubeApi, 'get'>;
  log: Logger;
}

export class ServiceProxy {
  readonly #o: ServiceProxyOptions;
  readonly #log: Logger;
  #server: Server | undefined;

  constructor(o: ServiceProxyOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'service-proxy' });
  }

  async start(): Promise<void> {
    await rm(this.#o.socketPath, { force: true }); // a previous agent's socket
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.socketPath, () => resolve());
    });
    this.#server = server;
    this.#log.info({ socket: this.#o.socketPath }, 'service proxy listening');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.#o.socketPath, { force: true });
  }

  /** Where `host:port` goes: a Service's ready pod, or the address itself. */
  async resolve(host: string, port: number): Promise<Target> {
    const services = await this.#o.api.get<{ items: Service[] }>('/api/v1/services');
    const svc = serviceByClusterIp(services.items, host);
    if (!svc) return { host, port };
    const selector = selectorOf(svc);
    const pods = selector
      ? (
          await this.#o.api.get<{ items: Pod[] }>(`/api/v1/namespaces/${svc.metadata?.namespace}/pods`, {
            labelSelector: selector,
          })
        ).items
      : [];
    return serviceTarget(svc, port, pods);
  }

  #accept(client: Socket): void {
    let head = Buffer.alloc(0);
    client.on('error', () => client.destroy());
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > maxHeadBytes) refuse(client, 431, 'request head too large');
        return;
      }
      client.off('data', onData);
      client.pause();
      void this.#tunnel(
        client,
        head.subarray(0, end).toString('latin1').split('\r\n')[0] ?? '',
        head.subarray(end + 4),
      );
    };
    client.on('data', onData);
  }

  async #tunnel(client: Socket, requestLine: string, early: Buffer): Promise<void> {
    const m = connectRequest.exec(requestLine);
    if (!m) return refuse(client, 405, `expected CONNECT host:port, got ${JSON.stringify(requestLine.slice(0, 100))}`);
    const host = m[1]!.replace(/^\[|\]$/g, '');
    let target: Target;
    try {
      target = await this.resolve(host, Number(m[2]));
    } catch (err) {
      this.#log.warn({ target: `${host}:${m[2]}`, err: errorMessage(err) }, 'cannot route CONNECT');
      return refuse(client, 503, errorMessage(err));
    }
    const upstream = connect(target.port, target.host);
    upstream.once('error', (err) => {
      if (!client.destroyed) refuse(client, 502, `${target.host}:${target.port}: ${err.message}`);
    });
    upstream.once('connect', () => {
      if (client.destroyed) return void upstream.destroy(); // the API server gave up meanwhile
      upstream.removeAllListeners('error');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (early.length > 0) upstream.write(early);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      this.#log.debug({ from: `${host}:${m[2]}`, to: `${target.host}:${target.port}` }, 'CONNECT routed');
    });
  }
}

function refuse(client: Socket, status: number, reason: string): void {
  const text = reason.replace(/[\r\n]+/g, ' ');
  client.end(`HTTP/1.1 ${status} ${text}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
}
