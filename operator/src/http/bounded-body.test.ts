// Both operator HTTP clients against an endpoint that answers with a huge body (what a hostile
// or broken Druid URL or slot pod can do; a real Druid or runtime never does, hence this small
// server): the call fails with the client's "too large" code, and the client stops reading and
// drops the connection long before the body ends.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DruidClient } from '../druid/client.ts';
import { RuntimeClient } from '../runtime-client/client.ts';

const HUGE = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

describe('operator HTTP clients read bounded response bodies', () => {
  let server: Server;
  let base = '';
  const sent: number[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/small')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ payload: { state: 'RUNNING' }, id: 'x', contractVersion: 1 }));
        return;
      }
      // A JSON string of 64 MiB, streamed with an honest content-length; counts what went out.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': HUGE + 2 });
      let n = 0;
      const i = sent.push(0) - 1;
      res.write('"');
      const pump = (): void => {
        while (n < HUGE) {
          n += CHUNK.length;
          sent[i] = n;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        res.end('"');
      };
      res.on('close', () => (n = HUGE + 1));
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  it('the runtime client refuses a slot answer over its limit (RUNTIME_ERR_RESPONSE_TOO_LARGE)', async () => {
    const client = new RuntimeClient({ timeoutMs: 30_000 });
    try {
      await expect(client.status(base, 't')).rejects.toMatchObject({
        code: 'RUNTIME_ERR_RESPONSE_TOO_LARGE',
        message: expect.stringContaining('larger than 1 MiB'),
      });
      expect(sent.at(-1)).toBeLessThan(HUGE);
      // Small answers still work on the same client.
      await expect(client.status(`${base}/small`, 't')).resolves.toMatchObject({ contractVersion: 1 });
    } finally {
      await client.close();
    }
  });

  it('the Druid client refuses an answer over its limit (DRUID_ERR_RESPONSE_TOO_LARGE, not retriable)', async () => {
    const client = new DruidClient({ url: base, maxResponseBytes: 1024 * 1024 });
    try {
      const err = await client.getStatus('sup').catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'DRUID_ERR_RESPONSE_TOO_LARGE',
        retriable: false,
        message: expect.stringContaining('larger than 1 MiB'),
      });
      expect(sent.at(-1)).toBeLessThan(HUGE);
    } finally {
      await client.close();
    }
  });
});
