import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { fromRecordValue, toRecordValue } from './avro-values.ts';

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
  const type = avro.Type.forSchema(schema);

  it('round-trips random values through a JSON record to the same Avro bytes (property)', () => {
    for (let k = 0; k < 300; k++) {
      const v: unknown = type.random();
      const rec = toRecordValue(type, v);
      const json = JSON.parse(JSON.stringify(rec)) as unknown;
      // The record is plain JSON: serializing it loses nothing.
      expect(json).toEqual(rec);
      const back = fromRecordValue(type, json);
      expect(type.isValid(back)).toBe(true);
      expect(type.toBuffer(back).equals(type.toBuffer(v))).toBe(true);
    }
  });

  it('maps bytes to base64, enums to symbols, null unions to value or null, ambiguous unions wrapped', () => {
    const v = {
      user: 'u1',
      n: 2 ** 40,
      i: -3,
      score: 1.5,
      f: 0.5,
      ok: true,
      raw: Buffer.from('hi'),
      tag: Buffer.from([1, 2, 3, 4]),
      kind: 'BUY',
      ref: null,
      blob: Buffer.from([255]),
      either: { 't.B': { b: Buffer.from([0]) } },
      tags: [],
      attrs: { x: null, y: Buffer.from('z') },
      at: 1_700_000_000_000,
    };
    const rec = toRecordValue(type, type.fromBuffer(type.toBuffer(v)));
    expect(rec).toEqual({
      user: 'u1',
      n: 2 ** 40,
      i: -3,
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
      at: 1_700_000_000_000,
    });
  });

  it('reads old bytes into a newer reader schema: added field takes its default, removed field is skipped', () => {
    const v1 = avro.Type.forSchema({
      type: 'record',
      name: 'E',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'old', type: ['null', 'string'], default: null },
      ],
    });
    const v2 = avro.Type.forSchema({
      type: 'record',
      name: 'E',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'country', type: 'string', default: 'NL' },
      ],
    });
    const bytes = v1.toBuffer({ id: 'a', old: 'x' });
    const read = v2.fromBuffer(bytes, v2.createResolver(v1));
    expect(toRecordValue(v2, read)).toEqual({ id: 'a', country: 'NL' });
  });
});
