// Reference resolution against a hand-written registry on an ephemeral loopback port: it holds
// subject versions whose references form cycles and chains no real registry accepts (Confluent's
// and Apicurio's refuse a reference to a schema not registered yet, so a cycle cannot be made
// there). Resolution against the real registry: references.int.test.ts.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { JobMetrics } from '../../telemetry/metrics.ts';
import { SchemaRegistryClient, type SchemaReference } from './client.ts';
import { resolveReferences } from './references.ts';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

interface Held {
  readonly schema: string;
  readonly references?: readonly SchemaReference[];
  readonly schemaType?: string;
}

/** A registry holding `versions` ("subject/version" → schema); answers GET /subjects/{s}/versions/{v}, else 404. */
async function registryHolding(
  versions: Record<string, Held>,
): Promise<{ client: SchemaRegistryClient; gets: string[] }> {
  const gets: string[] = [];
  server = createServer((req, res) => {
    const m = /\/subjects\/([^/]+)\/versions\/([^/]+)$/.exec(req.url ?? '');
    const subject = decodeURIComponent(m?.[1] ?? '');
    gets.push(`${subject}/${m?.[2] ?? ''}`);
    const held = m ? versions[`${subject}/${m[2]}`] : undefined;
    if (!held) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"No version","error_code":40402}');
      return;
    }
    const body = { subject, version: Number(m![2]), id: 100 + gets.length, schemaType: 'PROTOBUF', ...held };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const client = new SchemaRegistryClient({ url: `http://127.0.0.1:${port}`, attempts: 1, metrics: new JobMetrics() });
  return { client, gets };
}

const ref = (name: string, version = 1): SchemaReference => ({ name, subject: name, version });
const proto = (references: SchemaReference[] = []) => ({ schemaType: 'PROTOBUF' as const, schema: 's', references });

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('resolved');
}

describe('resolveReferences', () => {
  it('orders every schema after the ones it references, once per name, fetching each version once', async () => {
    // top → a, b; a → c; b → c, d; d → c
    const { client, gets } = await registryHolding({
      'a/1': { schema: 'A', references: [ref('c')] },
      'b/2': { schema: 'B', references: [ref('c'), ref('d')] },
      'c/1': { schema: 'C' },
      'd/1': { schema: 'D', references: [ref('c')] },
    });
    const refs = await resolveReferences(client, proto([ref('a'), ref('b', 2)]), 'schema id 9');
    expect(refs.ordered.map((r) => r.schema)).toEqual(['C', 'A', 'D', 'B']);
    expect([...refs.byName.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(refs.byName.get('b')).toMatchObject({ subject: 'b', version: 2, schema: 'B' });
    expect(gets).toEqual(['a/1', 'c/1', 'b/2', 'd/1']);
    // A second resolution is served by the client's version cache: subject versions never change.
    await resolveReferences(client, proto([ref('a'), ref('b', 2)]), 'schema id 10');
    expect(gets.length).toBe(4);
    await client.close();
  });

  it('refuses a cycle, naming the reference and the chain of schemas referencing it', async () => {
    const { client } = await registryHolding({
      'a/1': { schema: 'A', references: [ref('b')] },
      'b/1': { schema: 'B', references: [ref('a')] },
    });
    const f = await failure(resolveReferences(client, proto([ref('a')]), 'schema id 9'));
    expect(f.code).toBe('TRIB_REGISTRY_REFERENCE');
    expect(f.message).toContain('reference "a" (subject "a" version 1) of reference "b" (subject "b") of');
    expect(f.message).toContain('of schema id 9 is a cycle');
    await client.close();
  });

  it('refuses a chain deeper than the limit and more schemas than the limit', async () => {
    const chain: Record<string, Held> = {};
    for (let i = 0; i < 6; i++) chain[`n${i}/1`] = { schema: `N${i}`, references: i < 5 ? [ref(`n${i + 1}`)] : [] };
    const { client } = await registryHolding(chain);
    expect((await resolveReferences(client, proto([ref('n0')]), 'x', { maxDepth: 6 })).ordered.length).toBe(6);
    const deep = await failure(resolveReferences(client, proto([ref('n0')]), 'schema id 3', { maxDepth: 5 }));
    expect(deep.code).toBe('TRIB_REGISTRY_REFERENCE');
    expect(deep.message).toMatch(/^reference "n5" \(subject "n5" version 1\) of reference "n4".* is deeper than 5/);
    const many = await failure(resolveReferences(client, proto([ref('n0')]), 'schema id 3', { maxSchemas: 4 }));
    expect(many.code).toBe('TRIB_REGISTRY_REFERENCE');
    expect(many.message).toContain('schema id 3 references more than 4 schemas');
    await client.close();
  });

  it('keeps the registry code of a missing reference and names it and its referrer', async () => {
    const { client } = await registryHolding({ 'a/1': { schema: 'A', references: [ref('gone', 4)] } });
    const f = await failure(resolveReferences(client, proto([ref('a')]), 'subject "t-value" version 2'));
    expect(f.code).toBe('TRIB_REGISTRY_NOT_FOUND');
    expect(f.message).toMatch(
      /^reference "gone" \(subject "gone" version 4\) of reference "a" \(subject "a"\) of subject "t-value" version 2: /,
    );
    expect(f.message).toContain('No version');
    await client.close();
  });

  it('refuses one name given two schemas, and a referenced schema of another type', async () => {
    const { client } = await registryHolding({
      'a/1': { schema: 'A', references: [{ name: 'common.proto', subject: 'c', version: 1 }] },
      'c/1': { schema: 'C1' },
      'c/2': { schema: 'C2' },
      'avro/1': { schema: '"string"', schemaType: 'AVRO' },
    });
    const twice = [ref('a'), { name: 'common.proto', subject: 'c', version: 2 }];
    const f = await failure(resolveReferences(client, proto(twice), 'schema id 5'));
    expect(f.code).toBe('TRIB_REGISTRY_REFERENCE');
    expect(f.message).toContain('the name "common.proto" is also subject "c" version 1 in schema id 5');
    const typed = await failure(resolveReferences(client, proto([ref('avro')]), 'schema id 5'));
    expect(typed).toEqual({
      code: 'TRIB_REGISTRY_REFERENCE',
      message: 'reference "avro" (subject "avro" version 1) of schema id 5 is AVRO, not PROTOBUF',
    });
    await client.close();
  });

  it('refuses an answer whose references are not [{name, subject, version}]', async () => {
    const { client } = await registryHolding({
      'a/1': { schema: 'A', references: [{ name: 'x' } as SchemaReference] },
    });
    const f = await failure(resolveReferences(client, proto([ref('a')]), 'schema id 5'));
    expect(f.code).toBe('TRIB_REGISTRY_RESPONSE');
    expect(f.message).toContain('reference "a" (subject "a" version 1) of schema id 5');
    await client.close();
  });
});
