// What s3-faults.chaos.int.test.ts (checkpoint/storage) drives: `tributary run` as a user runs it
// (its stderr lines with their arrival times), the run's /metrics, and a delaying TCP proxy in front of the S3
// server — a real server cannot be made slow on demand, so the slowness is injected there
// (loopback only), while the server itself answers as always.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { TributaryError } from '../errors.ts';
import { sleep, stderrOf, type Line, type Run } from './tributary-run.ts';

export * from './tributary-run.ts';

/** The first line whose message (or whole text) matches `pattern`, at or after `from`; rejects after `ms`. */
export async function lineAfter(r: Run, pattern: RegExp, from: number, ms: number): Promise<Line> {
  const deadline = Date.now() + ms;
  for (;;) {
    const l = r.lines.find((x) => x.at >= from && (pattern.test(x.json?.msg ?? '') || pattern.test(x.text)));
    if (l) return l;
    if (Date.now() > deadline)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `no line matching ${String(pattern)} within ${ms} ms; the run's stderr ends:\n${stderrOf(r).slice(-3000)}`,
      );
    await sleep(50);
  }
}

/** The value of the first sample of `metric` whose labels include every one of `labels` (0 when absent). */
export async function sample(metricsPort: number, metric: string, labels: Record<string, string>): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return 0;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A TCP proxy on 127.0.0.1 to `target` that holds each request (a chunk from the client after
 * it was quiet for 100 ms) for `delayMs()` before passing it on, in order; answers pass at once.
 */
export async function delayingProxy(
  target: { host: string; port: number },
  delayMs: () => number,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let chain = Promise.resolve();
    let lastAt = 0;
    client.on('data', (d: Buffer) => {
      const now = Date.now();
      const wait = now - lastAt > 100 ? delayMs() : 0;
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
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
