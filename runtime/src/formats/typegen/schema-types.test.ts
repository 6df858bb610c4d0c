// The generated types admit exactly what the codecs decode: records decoded by each codec's own
// value mapping (random Avro values through avsc, Protobuf messages through protobufjs, JSON
// Schema instances ajv accepts) are assigned to the generated types and type-checked by the
// TypeScript compiler, strict; a value of the wrong shape fails the check, naming the field.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseAvro } from '../avro/avro-schema.ts';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { typecheck } from '../../testing/typecheck.ts';
import { toRecordValue } from '../avro/avro-values.ts';
import { parseProto, indexesOf } from '../protobuf/protobuf-schema.ts';
import { integersOf } from '../json-schema/json-schema-integers.ts';
import { messageToRecord } from '../protobuf/protobuf-values.ts';
import { avroTypes } from './avro-types.ts';
import { jsonSchemaTypes } from './json-schema-types.ts';
import { protobufTypes } from './protobuf-types.ts';
import { schemaTypes } from './schema-types.ts';
import type { References } from '../registry/references.ts';

const AVRO = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'com.acme',
  doc: 'One click.',
  fields: [
    { name: 'user', type: 'string', doc: 'who clicked' },
    { name: 'price', type: 'double' },
    { name: 'count', type: 'long' },
    { name: 'ok', type: 'boolean' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'int' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
    { name: 'payload', type: 'bytes' },
    { name: 'md5', type: { type: 'fixed', name: 'Md5', size: 4 } },
    { name: 'maybe', type: ['null', 'string'], default: null },
    { name: 'either', type: ['int', 'string'] },
    { name: 'ambiguous', type: ['null', 'int', 'long'] },
    { name: 'when', type: { type: 'long', logicalType: 'timestamp-millis' } },
    {
      name: 'address',
      type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] },
    },
    {
      name: 'chain',
      type: [
        'null',
        { type: 'record', name: 'Link', fields: [{ name: 'next', type: ['null', 'Link'], default: null }] },
      ],
      default: null,
    },
    { name: 'home', type: ['null', 'Address'], default: null },
  ],
});

const PROTO = `
syntax = "proto3";
package shop;
// An order.
message Order {
  string id = 1;
  int64 amount_cents = 2;
  repeated Item items = 3;
  map<string, int32> counts = 4;
  Status status = 5;
  Address ship_to = 6;
  bytes raw = 7;
  optional string note = 8;
  oneof pay { string card = 9; string iban = 10; }
  bool gift = 11;
  message Item { string sku = 1; double price = 2; }
  enum Status { NEW = 0; PAID = 1; }
}
message Address { string city = 1; }
`;

const JSON_SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    id: { type: 'string', description: 'the id' },
    qty: { type: 'integer' },
    note: { type: ['string', 'null'] },
    kind: { enum: ['a', 'b'] },
    tags: { type: 'array', items: { type: 'string' } },
    extra: { type: 'object', additionalProperties: { type: 'number' } },
    ship: { $ref: '#/$defs/address' },
    v: { const: 1 },
    any: {},
  },
  required: ['id', 'qty', 'kind'],
  additionalProperties: false,
  $defs: { address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
});

/** Errors of assigning each value to `type` in a file beside the generated `types`. */
function check(types: string, type: string, values: readonly unknown[]): string[] {
  const literal = (v: unknown): string =>
    JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `<bigint>${x}` : x)).replace(
      /"<bigint>(-?\d+)"/g,
      '$1n',
    );
  const uses = values.map((v, i) => `export const v${i}: ${type} = ${literal(v)};`).join('\n');
  return typecheck({ 'types.ts': types, 'values.ts': `import type { ${type} } from './types.ts';\n${uses}\n` });
}

describe('schema types', () => {
  it('Avro: every random value of the schema, as the codec maps it, is a value of the generated type', () => {
    const { root, text } = avroTypes(AVRO);
    expect(root).toBe('Click');
    expect(text).toContain('export interface Click {');
    expect(text).toContain('/** who clicked */');
    expect(text).toContain('status: Status;');
    expect(text).toContain('export type Status = "NEW" | "PAID";');
    expect(text).toContain('maybe: null | string;');
    expect(text).toContain('either: bigint | string;');
    expect(text).toContain('ambiguous: null | { "int": bigint } | { "long": bigint };');
    const type = parseAvro(AVRO, 'the test schema');
    const values = Array.from({ length: 40 }, () => toRecordValue(type, type.random()));
    expect(check(text, root, values)).toEqual([]);
    const wrong = { ...(values[0] as object), price: 'cheap' };
    expect(check(text, root, [wrong]).join('\n')).toMatch(/string.*not assignable to type 'number'/);
    expect(check(text, root, [{ ...(values[0] as object), ambiguous: 3 }]).join('\n')).toMatch(/not assignable/);
  });

  it('Avro: a top-level type that is not a record is named by --name, else Value', () => {
    expect(avroTypes('"string"').text).toContain('export type Value = string;');
    expect(avroTypes('{"type":"array","items":"long"}', 'Ids').text).toContain('export type Ids = bigint[];');
  });

  it('Protobuf: a decoded message, set or unset, is a value of the generated type', () => {
    const { root, text } = protobufTypes(PROTO);
    expect(root).toBe('Order');
    expect(text).toContain('ship_to: Address | null;');
    expect(text).toContain('note?: string;');
    expect(text).toContain('card?: string;');
    expect(text).toContain('export type Status = "NEW" | "PAID";');
    const file = parseProto(PROTO, 'test');
    const { type } = indexesOf(file, undefined, 'test');
    const decoded = (obj: Record<string, unknown>) =>
      messageToRecord(type, type.decode(type.encode(type.fromObject(obj)).finish()));
    const values = [
      decoded({}),
      decoded({
        id: 'o-1',
        amount_cents: 1234,
        items: [{ sku: 'a', price: 1.5 }],
        counts: { x: 2 },
        status: 'PAID',
        ship_to: { city: 'Oslo' },
        raw: Buffer.from('hi'),
        note: 'n',
        iban: 'DE00',
        gift: true,
      }),
    ];
    expect(values[0]).toMatchObject({ ship_to: null, status: 'NEW' });
    expect(values[0]).not.toHaveProperty('note');
    expect(check(text, root, values)).toEqual([]);
    expect(check(text, root, [{ ...values[1], amount_cents: '1234' }]).join('\n')).toMatch(/amount_cents|bigint/);
  });

  it('Protobuf: another message of the file by --message', () => {
    const { root, text } = protobufTypes(PROTO, 'Address');
    expect(root).toBe('Address');
    expect(text).not.toContain('interface Order');
  });

  it('JSON Schema: instances the schema admits are values of the generated type, others are not', () => {
    const { root, text } = jsonSchemaTypes(JSON_SCHEMA, 'Shipment');
    expect(root).toBe('Shipment');
    expect(text).toContain('qty: bigint;');
    expect(text).toContain('note?: string | null;');
    expect(text).toContain('ship?: Address;');
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(JSON_SCHEMA) as object);
    const values = [
      { id: 'a', qty: 1, kind: 'a' },
      {
        id: 'b',
        qty: 2,
        kind: 'b',
        note: null,
        tags: ['x'],
        extra: { w: 1.5 },
        ship: { city: 'Oslo' },
        v: 1,
        any: [1],
      },
    ];
    for (const v of values) expect(validate(v), JSON.stringify(validate.errors)).toBe(true);
    // As the codec decodes them: integers as BigInt.
    const decodedValues = values.map((v) => integersOf(JSON.parse(JSON_SCHEMA) as Record<string, unknown>, { ...v }));
    expect(check(text, root, decodedValues)).toEqual([]);
    const missing = { id: 'c', kind: 'a' };
    expect(validate(missing)).toBe(false);
    expect(check(text, root, [missing]).join('\n')).toMatch(/qty/);
    expect(check(text, root, [{ id: 'd', qty: 1n, kind: 'c' }]).join('\n')).toMatch(/"c"/);
  });

  it('declares the types of Protobuf imports and Avro references with the schema own', () => {
    const refs = (name: string, schemaType: 'AVRO' | 'PROTOBUF', schema: string): References => {
      const r = { name, subject: name, version: 1, schemaType, schema };
      return { ordered: [r], byName: new Map([[name, r]]) };
    };
    const proto = `syntax = "proto3"; package it; import "it/money.proto"; import "google/protobuf/timestamp.proto";
      message Order { Money total = 1; google.protobuf.Timestamp at = 2; }`;
    const money = 'syntax = "proto3"; package it; message Money { string currency = 1; int64 cents = 2; }';
    const pb = schemaTypes(
      { schemaType: 'PROTOBUF', schema: proto, references: [{ name: 'it/money.proto', subject: 'm', version: 1 }] },
      { from: 'x' },
      refs('it/money.proto', 'PROTOBUF', money),
    );
    expect(check(pb, 'Order', [{ total: { currency: 'EUR', cents: 5n }, at: { seconds: 1n, nanos: 0n } }])).toEqual([]);
    expect(check(pb, 'Order', [{ total: { currency: 'EUR', cents: '5' }, at: null }]).join('\n')).toMatch(
      /'string' is not assignable to type 'bigint'/,
    );
    const avroMoney = JSON.stringify({
      type: 'record',
      name: 'Money',
      namespace: 'it',
      fields: [{ name: 'cents', type: 'long' }],
    });
    const avroOrder = JSON.stringify({
      type: 'record',
      name: 'Order',
      namespace: 'it',
      fields: [{ name: 'total', type: 'it.Money' }],
    });
    const av = schemaTypes(
      { schemaType: 'AVRO', schema: avroOrder },
      { from: 'x' },
      refs('it.Money', 'AVRO', avroMoney),
    );
    expect(check(av, 'Order', [{ total: { cents: 5n } }])).toEqual([]);
    expect(check(av, 'Order', [{ total: { cents: 'x' } }]).join('\n')).toMatch(
      /'string' is not assignable to type 'bigint'/,
    );
  });

  it("declares a JSON Schema $ref's registered schema, with its own local definitions apart", () => {
    const address = JSON.stringify({
      type: 'object',
      properties: { city: { type: 'string' }, zip: { $ref: '#/$defs/Zip' } },
      required: ['city'],
      $defs: { Zip: { type: 'string' } },
    });
    const order = JSON.stringify({
      type: 'object',
      properties: { id: { type: 'string' }, to: { $ref: 'address.json' }, code: { $ref: '#/$defs/Zip' } },
      required: ['id', 'to'],
      $defs: { Zip: { type: 'integer' } },
    });
    const r = { name: 'address.json', subject: 'a', version: 1, schemaType: 'JSON' as const, schema: address };
    const refs: References = { ordered: [r], byName: new Map([['address.json', r]]) };
    const out = schemaTypes(
      { schemaType: 'JSON', schema: order, references: [{ name: 'address.json', subject: 'a', version: 1 }] },
      { from: 'x', name: 'Order' },
      refs,
    );
    expect(out).toContain('to: Address;');
    expect(check(out, 'Order', [{ id: 'a', to: { city: 'Gent', zip: '9000' }, code: 3n }])).toEqual([]);
    // The two documents' Zip are two types: a string zip in the address, an integer code in the order.
    expect(check(out, 'Order', [{ id: 'a', to: { city: 'Gent', zip: 9000n } }]).join('\n')).toMatch(/bigint/);
    expect(check(out, 'Order', [{ id: 'a', to: { city: 'Gent' }, code: '3' }]).join('\n')).toMatch(/string/);
    expect(check(out, 'Order', [{ id: 'a', to: { zip: '9000' } }]).join('\n')).toMatch(/city/);
  });

  it('the file names its schema', () => {
    const out = schemaTypes({ schemaType: 'AVRO', schema: AVRO }, { from: 'subject clicks-value version 2 (id 9)' });
    expect(out).toMatch(/^\/\/ Generated by `tributary schema-types` from subject clicks-value version 2 \(id 9\)/);
    expect(check(out, 'Click', [])).toEqual([]);
    expect(() => avroTypes('{"type":"nope"}')).toThrow(/TRIB_FORMAT_SCHEMA|not a valid Avro schema/);
    void protobuf;
  });
});
