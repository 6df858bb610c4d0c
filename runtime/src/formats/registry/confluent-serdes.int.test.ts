// Our Protobuf and JSON Schema codecs against Confluent's own serdes (Python confluent-kafka, an
// independent implementation) through the real registry: what Confluent's serializer writes,
// ours decodes (Protobuf: the schema as Confluent registers it, a base64 FileDescriptorProto, and
// with a newer reader schema of the same message); what ours writes, Confluent's deserializer
// reads back as the same record.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { confluentSerde } from '../../../../test/harness/confluent-python.ts';
import { JsonSchemaCodec } from '../json-schema/json-schema-codec.ts';
import { ProtobufCodec } from '../protobuf/protobuf-codec.ts';
import { SchemaRegistryClient } from './client.ts';

const url = process.env.TRIBUTARY_REGISTRY_URL;

const proto = (extra = '') => `syntax = "proto3";
package it;
message Order {
  string id = 1;
  int64 cents = 2;
  repeated string tags = 3;
  Status status = 4;
  Line line = 5;${extra}
  enum Status { NEW = 0; PAID = 1; }
  message Line { string sku = 1; double price = 2; }
}
`;

const jsonSchema = JSON.stringify({
  type: 'object',
  properties: { id: { type: 'string' }, qty: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
  required: ['id', 'qty'],
});

describe("Confluent's serdes and ours, through the registry", () => {
  it("Protobuf: Confluent's bytes decode as written and into a newer reader; ours read back by Confluent", async () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
    const client = new SchemaRegistryClient({ url: url! });
    const subject = `serde-pb-${randomUUID()}-value`;
    try {
      const records = [
        { id: 'o-1', cents: 2 ** 40, tags: ['a', 'b'], status: 'PAID', line: { sku: 's', price: 1.5 } },
        { id: 'o-2', cents: 0, tags: [], status: 'NEW' },
      ];
      const written = (await confluentSerde('write', 'protobuf', url!, subject, proto(), records)).map((h) =>
        Buffer.from(h, 'hex'),
      );
      // Confluent registers a base64 FileDescriptorProto, not .proto text: the codec reads either.
      expect((await client.version(subject, 1)).schema).not.toContain('message');
      const asWritten = new ProtobufCodec({ client, subject });
      // An int64 decodes to a BigInt (a CEL int: docs/runtime/formats.md, "Integers").
      expect(await asWritten.decode(written[0]!)).toEqual({ ...records[0], cents: 2n ** 40n });
      expect(await asWritten.decode(written[1]!)).toEqual({ ...records[1], cents: 0n, line: null });
      const newer = new ProtobufCodec({ client, subject, schema: { inline: proto('\n  string country = 6;') } });
      expect(await newer.decode(written[0]!)).toEqual({ ...records[0], cents: 2n ** 40n, country: '' });

      // Ours under a subject of its own: Apicurio 2.4 cannot check a .proto against the base64
      // descriptor Confluent registered (HTTP 500, "Syntax error"), so the two do not share one.
      const oursSubject = subject.replace(/-value$/, '-ours-value');
      const ours = new ProtobufCodec({ client, subject: oursSubject, schema: { inline: proto() }, autoRegister: true });
      const bytes = await Promise.all(records.map((r) => ours.encode(r)));
      const read = (await confluentSerde('read', 'protobuf', url!, oursSubject, proto(), bytes)).map(
        (l) => JSON.parse(l) as Record<string, unknown>,
      );
      // Protobuf's JSON mapping: int64 as a string, fields at their default left out.
      expect(read[0]).toEqual({ ...records[0], cents: String(2 ** 40) });
      expect(read[1]).toEqual({ id: 'o-2' });
    } finally {
      await client.close();
    }
  }, 120_000);

  it("JSON Schema: Confluent's bytes decode and validate; ours read back by Confluent", async () => {
    const client = new SchemaRegistryClient({ url: url! });
    const subject = `serde-json-${randomUUID()}-value`;
    try {
      const records = [
        { id: 'a', qty: 1, tags: ['x'] },
        { id: 'b', qty: 2 },
      ];
      const written = (await confluentSerde('write', 'json', url!, subject, jsonSchema, records)).map((h) =>
        Buffer.from(h, 'hex'),
      );
      const asWritten = new JsonSchemaCodec({ client, subject });
      // A JSON Schema `integer` decodes to a BigInt (docs/runtime/formats.md, "Integers").
      for (const [i, b] of written.entries())
        expect(await asWritten.decode(b)).toEqual({ ...records[i], qty: BigInt(records[i]!.qty) });
      const ours = new JsonSchemaCodec({ client, subject, schema: { inline: jsonSchema }, autoRegister: true });
      const bytes = await Promise.all(records.map((r) => ours.encode(r)));
      const read = (await confluentSerde('read', 'json', url!, subject, jsonSchema, bytes)).map((l) => JSON.parse(l));
      expect(read).toEqual(records);
    } finally {
      await client.close();
    }
  }, 120_000);
});
