// TEST-ONLY: a TCP proxy on 127.0.0.1 that slows a real server on demand (a real S3 server or
// kube-apiserver cannot be made slow by configuration): it holds each request for a delay the
// test sets, while the server behind it answers as always. Loopback only.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DelayingProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Proxies to `target`, holding each request — a chunk from the client after it was quiet for
 * 100 ms, and that `holds` accepts (default: any) — for `delayMs()` (0: at once) before passing
 * it on, in order; answers pass at once.
 */
export async function delayingProxy(
  target: { host: string; port: number },
  delayMs: () => number,
  holds: (chunk: Buffer) => boolean = () => true,
): Promise<DelayingProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let chain = Promise.resolve();
    let lastAt = 0;
    client.on('data', (d: Buffer) => {
      const now = Date.now();
      const wait = now - lastAt > 100 && holds(d) ? delayMs() : 0;
      lastAt = now;
      chain = chain.then(() => sleep(wait)).then(() => void (upstream.destroyed || upstream.write(d)));
    });
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
