// The registry client and the Avro codec against the real schema registry of the local cluster
// (Apicurio 2.4.2, TRIBUTARY_REGISTRY_URL; global compatibility BACKWARD, set by the cluster).
// Each run uses its own subjects: the registry keeps them for its lifetime.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { confluentAvroWrite } from '../../../../test/harness/confluent-python.ts';
import { isTributaryError } from '../../errors.ts';
import { JobMetrics } from '../../telemetry/metrics.ts';
import { AvroCodec } from '../avro/avro-codec.ts';
import { JsonSchemaCodec } from '../json-schema/json-schema-codec.ts';
import { ProtobufCodec } from '../protobuf/protobuf-codec.ts';
import { SchemaRegistryClient } from './client.ts';
import { frame } from './wire.ts';

const url = process.env.TRIBUTARY_REGISTRY_URL;

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code, message: e.message };
    return { code: `not a TributaryError: ${String(e)}`, message: '' };
  }
  return { code: 'resolved', message: '' };
}

const v1 = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'long' },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['VIEW', 'BUY'] } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
});
// v2: a field added with a default, the optional `note` removed: BACKWARD-compatible.
const v2 = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'long' },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['VIEW', 'BUY'] } },
    { name: 'country', type: 'string', default: 'NL' },
  ],
});
// v3: a new field without a default: old data cannot be read with it, so BACKWARD refuses it.
const v3 = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'required', type: 'int' },
  ],
});

describe('schema registry client and Avro codec (real registry)', () => {
  it('has the registry of the local cluster', () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
  });

  it('writes with one version and reads with the other, both ways', async () => {
    const metrics = new JobMetrics();
    const client = new SchemaRegistryClient({ url: url!, metrics });
    const subject = `it-clicks-${randomUUID()}-value`;
    try {
      const w1 = new AvroCodec({ client, subject, schema: { inline: v1 }, autoRegister: true });
      const old = await w1.encode({ user: 'u1', n: 2 ** 40, kind: 'BUY', note: 'hi' });
      const w2 = new AvroCodec({ client, subject, schema: { inline: v2 }, autoRegister: true });
      const neu = await w2.encode({ user: 'u2', n: 7, kind: 'VIEW', country: 'DE' });
      const id1 = (await client.version(subject, 1)).id;
      const id2 = (await client.version(subject, 2)).id;
      expect(id1).not.toBe(id2);
      expect(old.readUInt32BE(1)).toBe(id1);
      expect(neu.readUInt32BE(1)).toBe(id2);

      const latest = new AvroCodec({ client, subject, schema: { version: 'latest' } });
      expect(await latest.decode(old)).toEqual({ user: 'u1', n: 2n ** 40n, kind: 'BUY', country: 'NL' });
      expect(await latest.decode(neu)).toEqual({ user: 'u2', n: 7n, kind: 'VIEW', country: 'DE' });
      const pinned = new AvroCodec({ client, subject, schema: { version: 1 } });
      expect(await pinned.decode(neu)).toEqual({ user: 'u2', n: 7n, kind: 'VIEW', note: null });
      const asWritten = new AvroCodec({ client, subject });
      expect(await asWritten.decode(old)).toEqual({ user: 'u1', n: 2n ** 40n, kind: 'BUY', note: 'hi' });

      // The schema by id came from the registry once, then from the cache.
      const byId = async () =>
        (await metrics.registryRequests.get()).values.find((v) => v.labels.operation === 'schema-by-id');
      const before = (await byId())?.value ?? 0;
      await new AvroCodec({ client, subject }).decode(old);
      expect((await byId())?.value ?? 0).toBe(before);
      const hits = (await metrics.registryCacheHits.get()).values.find((v) => v.labels.cache === 'schema-by-id');
      expect(hits?.value).toBeGreaterThan(0);

      // A lookup (no auto-register) finds the registered schema's id.
      expect(await client.idFor(subject, { schemaType: 'AVRO', schema: v1 }, { autoRegister: false })).toBe(id1);
    } finally {
      await client.close();
    }
  });

  it("reads what Confluent's own AvroSerializer (Python confluent-kafka) wrote, into a newer version", async () => {
    const client = new SchemaRegistryClient({ url: url! });
    const subject = `it-py-${randomUUID()}-value`;
    try {
      const records = [
        { user: 'py1', n: 2 ** 40, kind: 'BUY', note: null },
        { user: 'py2', n: -5, kind: 'VIEW', note: 'x' },
      ];
      const written = await confluentAvroWrite(url!, subject, v1, records);
      expect(written.length).toBe(2);
      const asWritten = new AvroCodec({ client, subject });
      // A long decodes to a BigInt (a CEL int: docs/runtime/formats.md, "Integers").
      expect(await asWritten.decode(written[0]!)).toEqual({ ...records[0], n: 2n ** 40n });
      expect(await asWritten.decode(written[1]!)).toEqual({ ...records[1], n: -5n });
      // v2 registered by us after Confluent's v1; their bytes read into it.
      await new AvroCodec({ client, subject, schema: { inline: v2 }, autoRegister: true }).encode({
        user: 'u',
        n: 1,
        kind: 'VIEW',
      });
      const latest = new AvroCodec({ client, subject, schema: { version: 'latest' } });
      expect(await latest.decode(written[1]!)).toEqual({ user: 'py2', n: -5n, kind: 'VIEW', country: 'NL' });
      // And our encoder writes byte for byte what Confluent's wrote for the same record and schema.
      const ours = await new AvroCodec({ client, subject, schema: { inline: v1 } }).encode(records[0]!);
      expect(ours.equals(written[0]!)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses an incompatible schema (409), an unknown id and an unknown schema with stable codes', async () => {
    const client = new SchemaRegistryClient({ url: url! });
    const subject = `it-clicks-${randomUUID()}-value`;
    try {
      await new AvroCodec({ client, subject, schema: { inline: v1 }, autoRegister: true }).encode({
        user: 'u',
        n: 1,
        kind: 'VIEW',
      });
      const incompatible = await codeOf(
        new AvroCodec({ client, subject, schema: { inline: v3 }, autoRegister: true }).encode({
          user: 'u',
          required: 1,
        }),
      );
      expect(incompatible.code).toBe('TRIB_REGISTRY_INCOMPATIBLE');
      expect(incompatible.message).toContain(subject);

      const unknownId = await codeOf(new AvroCodec({ client, subject }).decode(frame(987_654_321, Buffer.from([2]))));
      expect(unknownId.code).toBe('TRIB_REGISTRY_NOT_FOUND');
      expect(unknownId.message).toContain('987654321');
      expect(unknownId.message).toContain(url!);

      const notRegistered = await codeOf(
        client.idFor(subject, { schemaType: 'AVRO', schema: v2 }, { autoRegister: false }),
      );
      expect(notRegistered.code).toBe('TRIB_REGISTRY_NOT_FOUND');

      const badRecord = await codeOf(
        new AvroCodec({ client, subject, schema: { inline: v1 } }).encode({ user: 'u', n: 'x', kind: 'VIEW' }),
      );
      expect(badRecord.code).toBe('TRIB_FORMAT_ENCODE');
      expect(badRecord.message).toContain('n=');

      const truncated = await codeOf(
        new AvroCodec({ client, subject }).decode(frame((await client.version(subject, 1)).id, Buffer.from([2]))),
      );
      expect(truncated.code).toBe('TRIB_FORMAT_DECODE');
    } finally {
      await client.close();
    }
  });

  it('writes Protobuf with one version and reads it with the other, message indexes included', async () => {
    const client = new SchemaRegistryClient({ url: url! });
    const subject = `it-orders-${randomUUID()}-value`;
    const p1 =
      'syntax = "proto3";\npackage it.shop;\nmessage Order {\n  string id = 1;\n  int64 cents = 2;\n}\nmessage Refund {\n  string order_id = 1;\n}\n';
    // v2 adds a field: BACKWARD-compatible.
    const p2 = p1.replace('int64 cents = 2;', 'int64 cents = 2;\n  string currency = 3;');
    try {
      const w1 = new ProtobufCodec({ client, subject, schema: { inline: p1 }, autoRegister: true });
      const old = await w1.encode({ id: 'o1', cents: 2 ** 40 });
      expect(old[5]).toBe(0); // message indexes [0]: the single byte 0
      const w2 = new ProtobufCodec({ client, subject, schema: { inline: p2 }, autoRegister: true });
      const neu = await w2.encode({ id: 'o2', cents: 5, currency: 'EUR' });
      expect(neu.readUInt32BE(1)).toBe((await client.version(subject, 2)).id);

      const latest = new ProtobufCodec({ client, subject, schema: { version: 'latest' } });
      expect(await latest.decode(old)).toEqual({ id: 'o1', cents: 2n ** 40n, currency: '' });
      const pinned = new ProtobufCodec({ client, subject, schema: { version: 1 } });
      expect(await pinned.decode(neu)).toEqual({ id: 'o2', cents: 5n });

      // The second message of the file: indexes [1] on the wire, found again by the reader.
      const refunds = new ProtobufCodec({ client, subject, schema: { inline: p1 }, messageName: 'Refund' });
      const refund = await refunds.encode({ order_id: 'o1' });
      expect([...refund.subarray(5, 7)]).toEqual([2, 2]);
      expect(await new ProtobufCodec({ client, subject }).decode(refund)).toEqual({ order_id: 'o1' });
    } finally {
      await client.close();
    }
  });

  it('writes and reads JSON Schema records, validating both ways', async () => {
    const client = new SchemaRegistryClient({ url: url! });
    const subject = `it-users-${randomUUID()}-value`;
    const schema = JSON.stringify({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
      required: ['name'],
    });
    try {
      const codec = new JsonSchemaCodec({ client, subject, schema: { inline: schema }, autoRegister: true });
      const bytes = await codec.encode({ name: 'ann', age: 3 });
      expect(bytes.readUInt32BE(1)).toBe((await client.version(subject, 'latest')).id);
      expect(await new JsonSchemaCodec({ client, subject }).decode(bytes)).toEqual({ name: 'ann', age: 3n });
      expect((await codeOf(codec.encode({ age: -1 }))).code).toBe('TRIB_FORMAT_ENCODE');
      const invalid = frame(bytes.readUInt32BE(1), Buffer.from('{"age":"x"}'));
      const refused = await codeOf(new JsonSchemaCodec({ client, subject }).decode(invalid));
      expect(refused.code).toBe('TRIB_FORMAT_DECODE');
      expect(refused.message).toContain('/age');
    } finally {
      await client.close();
    }
  });

  it('speaks TLS with the CA option, and refuses the registry without it', async () => {
    const tlsUrl = process.env.TRIBUTARY_REGISTRY_TLS_URL!;
    const ca = readFileSync(process.env.TRIBUTARY_REGISTRY_CA!);
    const client = new SchemaRegistryClient({ url: tlsUrl, ca });
    const subject = `it-tls-${randomUUID()}-value`;
    try {
      const bytes = await new AvroCodec({ client, subject, schema: { inline: v1 }, autoRegister: true }).encode({
        user: 'tls',
        n: 1,
        kind: 'VIEW',
      });
      expect(await new AvroCodec({ client, subject }).decode(bytes)).toMatchObject({ user: 'tls' });
    } finally {
      await client.close();
    }
    const untrusting = new SchemaRegistryClient({ url: tlsUrl, attempts: 1 });
    const r = await codeOf(untrusting.schemaById(1));
    expect(r.code).toBe('TRIB_REGISTRY_UNAVAILABLE');
    expect(r.message).toMatch(/certificate/i);
  });

  it("sends basic auth (through the cluster's proxy), and names refused credentials TRIB_REGISTRY_AUTH", async () => {
    const authUrl = process.env.TRIBUTARY_REGISTRY_AUTH_URL!;
    const username = process.env.TRIBUTARY_REGISTRY_USER!;
    const client = new SchemaRegistryClient({
      url: authUrl,
      basicAuth: { username, password: process.env.TRIBUTARY_REGISTRY_PASSWORD! },
    });
    const subject = `it-auth-${randomUUID()}-value`;
    try {
      const bytes = await new AvroCodec({ client, subject, schema: { inline: v1 }, autoRegister: true }).encode({
        user: 'auth',
        n: 1,
        kind: 'VIEW',
      });
      expect(await new AvroCodec({ client, subject }).decode(bytes)).toMatchObject({ user: 'auth' });
    } finally {
      await client.close();
    }
    for (const basicAuth of [undefined, { username, password: 'wrong' }]) {
      const r = await codeOf(new SchemaRegistryClient({ url: authUrl, basicAuth }).schemaById(1));
      expect(r.code).toBe('TRIB_REGISTRY_AUTH');
      expect(r.message).toContain(authUrl);
    }
  });

  it('retries a registry that is down, then fails with TRIB_REGISTRY_UNAVAILABLE', async () => {
    // A loopback port that nothing listens on: every connection is refused, as with a stopped registry.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const metrics = new JobMetrics();
    const down = `http://127.0.0.1:${port}/apis/ccompat/v7`;
    const client = new SchemaRegistryClient({ url: down, attempts: 3, backoffMs: 10, metrics });
    try {
      const r = await codeOf(client.schemaById(1));
      expect(r.code).toBe('TRIB_REGISTRY_UNAVAILABLE');
      expect(r.message).toContain(down);
      expect(r.message).toContain('schema id 1');
      const attempts = (await metrics.registryRequests.get()).values.find((v) => v.labels.outcome === 'unreachable');
      expect(attempts?.value).toBe(3);
    } finally {
      await client.close();
    }
  });
});
