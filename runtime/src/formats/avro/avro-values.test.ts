import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { jsonText } from '../../core/json-text.ts';
import { parseAvro } from './avro-schema.ts';
import { fromRecordValue, toRecordValue } from './avro-values.ts';

const parse = (s: avro.Schema): avro.Type => parseAvro(JSON.stringify(s), 'the test schema');

const schema: avro.Schema = {
  type: 'record',
  name: 'Click',
  namespace: 't',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'long' },
    { name: 'i', type: 'int' },
    { name: 'score', type: 'double' },
    { name: 'f', type: 'float' },
    { name: 'ok', type: 'boolean' },
    { name: 'raw', type: 'bytes' },
    { name: 'tag', type: { type: 'fixed', name: 'Tag', size: 4 } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['VIEW', 'BUY'] } },
    { name: 'ref', type: ['null', 'string'] },
    { name: 'blob', type: ['null', 'bytes'] },
    {
      name: 'either',
      type: [
        { type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] },
        { type: 'record', name: 'B', fields: [{ name: 'b', type: 'bytes' }] },
      ],
    },
    { name: 'tags', type: { type: 'array', items: 'Tag' } },
    { name: 'attrs', type: { type: 'map', values: ['null', 'bytes'] } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};

describe('Avro values ⇄ record fields', () => {
  const type = parse(schema);

  it('round-trips random values through a record, and its JSON, to the same Avro bytes (property)', () => {
    for (let k = 0; k < 300; k++) {
      const v: unknown = type.random();
      const rec = toRecordValue(type, v);
      const back = fromRecordValue(type, rec);
      expect(type.isValid(back)).toBe(true);
      expect(type.toBuffer(back).equals(type.toBuffer(v))).toBe(true);
      // Its JSON (integers as JSON numbers) encodes the same too.
      const fromJson = fromRecordValue(type, JSON.parse(jsonText(rec)));
      expect(type.toBuffer(fromJson).equals(type.toBuffer(v))).toBe(true);
    }
  });

  it('keeps int and long integers (BigInt) exact past 2^53 and across a nullable union', () => {
    const t = parse({
      type: 'record',
      name: 'L',
      fields: [
        { name: 'k', type: 'long' },
        { name: 'i', type: 'int' },
        { name: 'maybe', type: ['null', 'long'] },
        { name: 'either', type: ['int', 'long'] },
      ],
    });
    const big = 2n ** 62n + 1n;
    const v = { k: big, i: 7, maybe: { long: -big }, either: { int: 3 } };
    const rec = toRecordValue(t, t.fromBuffer(t.toBuffer(v)));
    expect(rec).toEqual({ k: big, i: 7n, maybe: -big, either: { int: 3n } });
    expect(jsonText(rec)).toBe(`{"k":${big},"i":7,"maybe":${-big},"either":{"int":3}}`);
    expect(t.toBuffer(fromRecordValue(t, rec)).equals(t.toBuffer(v))).toBe(true);
  });

  it('maps bytes to base64, enums to symbols, null unions to value or null, ambiguous unions wrapped', () => {
    const v = {
      user: 'u1',
      n: 2n ** 40n,
      i: -3,
      score: 1.5,
      f: 0.5,
      ok: true,
      raw: Buffer.from('hi'),
      tag: Buffer.from([1, 2, 3, 4]),
      kind: 'BUY',
      ref: null,
      blob: { bytes: Buffer.from([255]) },
      either: { 't.B': { b: Buffer.from([0]) } },
      tags: [],
      attrs: { x: null, y: { bytes: Buffer.from('z') } },
      at: 1_700_000_000_000n,
    };
    const rec = toRecordValue(type, type.fromBuffer(type.toBuffer(v)));
    expect(rec).toEqual({
      user: 'u1',
      n: 2n ** 40n,
      i: -3n,
      score: 1.5,
      f: 0.5,
      ok: true,
      raw: 'aGk=',
      tag: 'AQIDBA==',
      kind: 'BUY',
      ref: null,
      blob: '/w==',
      either: { 't.B': { b: 'AA==' } },
      tags: [],
      attrs: { x: null, y: 'eg==' },
      at: 1_700_000_000_000n,
    });
  });

  it('reads old bytes into a newer reader schema: added field takes its default, removed field is skipped', () => {
    const v1 = parse({
      type: 'record',
      name: 'E',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'old', type: ['null', 'string'], default: null },
      ],
    });
    const v2 = parse({
      type: 'record',
      name: 'E',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'country', type: 'string', default: 'NL' },
      ],
    });
    const bytes = v1.toBuffer({ id: 'a', old: { string: 'x' } });
    const read = v2.fromBuffer(bytes, v2.createResolver(v1));
    expect(toRecordValue(v2, read)).toEqual({ id: 'a', country: 'NL' });
  });
});
