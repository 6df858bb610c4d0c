// The client's retry policy against statuses the real registry cannot be made to answer on demand
// (5xx now, 200 later): a hand-written HTTP server on an ephemeral loopback port injects them.
// Everything else is tested against the real registry (schema-registry.int.test.ts).
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { JobMetrics } from '../../telemetry/metrics.ts';
import { SchemaRegistryClient } from './client.ts';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** Answers the i-th request with answers[i] (the last one repeated): [status, body]. */
async function registryAnswering(answers: [number, string][]): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  server = createServer((req, res) => {
    const [status, body] = answers[Math.min(paths.length, answers.length - 1)]!;
    paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/apis/ccompat/v7`, paths };
}

const schema = JSON.stringify({ schema: '"string"' });

describe('SchemaRegistryClient retries', () => {
  it('retries 5xx with backoff until an answer, then caches the schema by id', async () => {
    const r = await registryAnswering([
      [503, '{"message":"overloaded"}'],
      [500, 'oops'],
      [200, schema],
    ]);
    const metrics = new JobMetrics();
    const client = new SchemaRegistryClient({ url: r.url, backoffMs: 5, metrics });
    expect(await client.schemaById(7)).toEqual({ schemaType: 'AVRO', schema: '"string"' });
    expect(await client.schemaById(7)).toEqual({ schemaType: 'AVRO', schema: '"string"' });
    expect(r.paths).toEqual(Array(3).fill('GET /apis/ccompat/v7/schemas/ids/7 application/vnd.schemaregistry.v1+json'));
    const outcomes = (await metrics.registryRequests.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        ['503', 1],
        ['500', 1],
        ['ok', 1],
      ]),
    );
    await client.close();
  });

  it('gives up after its attempts with TRIB_REGISTRY_UNAVAILABLE, and does not retry a 404', async () => {
    const down = await registryAnswering([[503, '{"message":"overloaded"}']]);
    const client = new SchemaRegistryClient({ url: down.url, attempts: 3, backoffMs: 1 });
    let err: unknown;
    await client.schemaById(1).catch((e: unknown) => (err = e));
    expect(isTributaryError(err, 'TRIB_REGISTRY_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('after 3 attempts');
    expect((err as Error).message).toContain('overloaded');
    expect(down.paths.length).toBe(3);
    await new Promise((r) => server!.close(r));

    const missing = await registryAnswering([[404, '{"message":"Schema 1 not found","error_code":40403}']]);
    const c2 = new SchemaRegistryClient({ url: missing.url, attempts: 3, backoffMs: 1 });
    await c2.version('s-value', 3).catch((e: unknown) => (err = e));
    expect(isTributaryError(err, 'TRIB_REGISTRY_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toContain('subject "s-value" version 3');
    expect(missing.paths.length).toBe(1);
  });

  it('looks a register answered 409 up, then registers once more, before it is TRIB_REGISTRY_INCOMPATIBLE', async () => {
    const schemaOf = { schemaType: 'AVRO' as const, schema: '"string"' };
    const exists = '{"message":"An artifact with ID \'s-value\' in group \'null\' already exists.","error_code":0}';
    const calls = (r: { paths: string[] }) =>
      r.paths.map((p) =>
        p
          .split(' ')
          .slice(0, 2)
          .join(' ')
          .replace(/.*\/subjects/, ''),
      );
    const found = await registryAnswering([
      [409, exists],
      [200, JSON.stringify({ subject: 's-value', version: 1, id: 42, schema: '"string"' })],
    ]);
    const c1 = new SchemaRegistryClient({ url: found.url, attempts: 3, backoffMs: 1 });
    expect(await c1.idFor('s-value', schemaOf, { autoRegister: true })).toBe(42);
    expect(calls(found)).toEqual(['/s-value/versions', '/s-value']);
    await c1.close();
    await new Promise((r) => server!.close(r));

    // Apicurio's spurious 409 for a subject created while another is: not there, and the next register takes.
    const spurious = await registryAnswering([
      [409, exists],
      [404, '{"message":"not found","error_code":40403}'],
      [200, '{"id":7}'],
    ]);
    const c2 = new SchemaRegistryClient({ url: spurious.url, attempts: 3, backoffMs: 1 });
    expect(await c2.idFor('s-value', schemaOf, { autoRegister: true })).toBe(7);
    expect(calls(spurious)).toEqual(['/s-value/versions', '/s-value', '/s-value/versions']);
    await c2.close();
    await new Promise((r) => server!.close(r));

    const refused = await registryAnswering([
      [409, '{"message":"incompatible with an earlier schema","error_code":409}'],
      [404, '{"message":"Schema not found","error_code":40403}'],
      [409, '{"message":"incompatible with an earlier schema","error_code":409}'],
    ]);
    const c3 = new SchemaRegistryClient({ url: refused.url, attempts: 3, backoffMs: 1 });
    let err: unknown;
    await c3.idFor('s-value', schemaOf, { autoRegister: true }).catch((e: unknown) => (err = e));
    expect(isTributaryError(err, 'TRIB_REGISTRY_INCOMPATIBLE')).toBe(true);
    expect((err as Error).message).toContain('incompatible with an earlier schema');
    expect(refused.paths.length).toBe(3);
    await c3.close();
  });
});
