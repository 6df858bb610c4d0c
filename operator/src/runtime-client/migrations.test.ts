// RuntimeClient's live-rescale calls against a local HTTP server answering as slot 0 would (and
// as a broken one would): the refusal's TRIB_* code is kept, a body that is not a migration
// status is RUNTIME_ERR_PROTOCOL, never handed on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient, RuntimeError, RuntimeErrorCodes } from './client.ts';

let server: Server;
let base: string;
let reply: { code: number; body: unknown } = { code: 200, body: {} };
const seen: { method?: string; url?: string; body: string }[] = [];
const client = new RuntimeClient({ timeoutMs: 2_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body });
      res.writeHead(reply.code, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await client.close();
  await new Promise((ok) => server.close(ok));
});

const status = {
  id: 'mig-1',
  state: 'IN_PROGRESS',
  from: 2,
  to: 3,
  phase: 'joining',
  stepsDone: 0,
  steps: 4,
  keyGroupsMoved: 0,
  keyGroups: 128,
  bytesMoved: 0,
  bytes: 0,
  startedAt: '2026-01-01T00:00:00Z',
  awaiting: { slot: 2, generation: 1, parallelism: 3 },
};

describe('RuntimeClient: POST and GET /v1/migrations', () => {
  it('posts {to, requestId} and returns the id; reads a migration status', async () => {
    reply = { code: 202, body: { id: 'mig-1' } };
    expect(await client.requestMigration(base, 't', { to: 3, requestId: 'r1' })).toEqual({ id: 'mig-1' });
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/v1/migrations', body: '{"to":3,"requestId":"r1"}' });
    reply = { code: 200, body: status };
    expect(await client.migration(base, 't', 'mig-1')).toEqual(status);
  });

  it("keeps the runtime's code of a refusal", async () => {
    reply = { code: 409, body: { error: 'index sources', code: 'TRIB_RESCALE_UNSUPPORTED' } };
    const e = await client.requestMigration(base, 't', { to: 3 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e).toMatchObject({
      code: RuntimeErrorCodes.rejected,
      statusCode: 409,
      runtimeCode: 'TRIB_RESCALE_UNSUPPORTED',
    });
  });

  it('refuses an answer that is not a migration status', async () => {
    for (const body of [
      null,
      { ...status, id: 'other' },
      { ...status, state: 'DONE' },
      { ...status, stepsDone: -1 },
      { ...status, awaiting: { slot: 2, generation: 1, parallelism: 2 } },
      { ...status, awaiting: null },
    ]) {
      reply = { code: 200, body };
      const e = await client.migration(base, 't', 'mig-1').catch((x: unknown) => x);
      expect(e, JSON.stringify(body)).toMatchObject({ code: RuntimeErrorCodes.protocol });
    }
    reply = { code: 202, body: {} };
    expect(await client.requestMigration(base, 't', { to: 3 }).catch((x: unknown) => x)).toMatchObject({
      code: RuntimeErrorCodes.protocol,
    });
  });
});
