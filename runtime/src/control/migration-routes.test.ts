import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, type StatusResponse } from './contract.ts';
import { parseMigrationRequest } from './migration-routes.ts';
import { startControlServer } from './server.ts';

describe('POST /v1/migrations body', () => {
  it('takes the new parallelism and an idempotency key', () => {
    expect(parseMigrationRequest('{"to": 3}')).toEqual({ to: 3 });
    expect(parseMigrationRequest('{"to": 1, "requestId": "r-1"}')).toEqual({ to: 1, requestId: 'r-1' });
  });

  it('refuses a body it cannot act on, naming the field', () => {
    const bad: [string, RegExp][] = [
      ['', /"to" must be an integer ≥ 1/],
      ['{"to": 0}', /"to" must be an integer ≥ 1/],
      ['{"to": 2.5}', /"to" must be an integer ≥ 1/],
      ['{"to": "3"}', /"to" must be an integer ≥ 1/],
      ['{"to": 3, "requestId": ""}', /"requestId" must be a non-empty string/],
      ['[3]', /body must be a JSON object/],
      ['{to: 3}', /body is not JSON/],
    ];
    for (const [body, message] of bad) expect(() => parseMigrationRequest(body), body).toThrow(message);
  });
});

describe('/v1/migrations where the job cannot rescale live', () => {
  const call = async (port: number, method: string, body?: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/migrations`, {
      method,
      headers: { authorization: 'Bearer t0ken' },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
  };
  const status: StatusResponse = {
    contractVersion: CONTRACT_VERSION,
    jobName: 'j',
    deploymentId: 'd',
    slot: 0,
    parallelism: 2,
    state: 'RUNNING',
  };
  const serve = (migrations?: { unsupported: string }) =>
    startControlServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      token: 't0ken',
      source: { status: () => status, ready: () => true },
      ...(migrations ? { migrations } : {}),
    });

  it('slot 0 says why (409, TRIB_RESCALE_UNSUPPORTED); another slot has no such route (404)', async () => {
    const slot0 = await serve({ unsupported: 'not here: rescale by savepoint' });
    const other = await serve();
    try {
      expect(await call(slot0.port, 'POST', '{"to": 3}')).toEqual({
        status: 409,
        body: { error: 'not here: rescale by savepoint', code: 'TRIB_RESCALE_UNSUPPORTED' },
      });
      expect((await call(other.port, 'POST', '{"to": 3}')).status).toBe(404);
      const anonymous = await fetch(`http://127.0.0.1:${slot0.port}/v1/migrations`, { method: 'POST' });
      expect(anonymous.status).toBe(401);
    } finally {
      await slot0.close();
      await other.close();
    }
  });
});
