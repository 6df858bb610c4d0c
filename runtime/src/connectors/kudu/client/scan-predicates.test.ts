// Scan predicates on the wire: each op becomes the ColumnPredicatePB oneof Kudu reads (range
// bounds lower-inclusive / upper-exclusive), values in their cell encoding, for every column type.
// The server's reading of them is checked end to end in kudu-scan.int.test.ts.
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.ts';
import { messageType } from './messages.ts';
import { predicateWire, type ScanPredicate } from './scan-predicates.ts';
import { Schema } from './schema.ts';
import type { KuduTable } from './table-metadata.ts';

const table: KuduTable = {
  name: 't',
  id: Buffer.from('00', 'hex'),
  schema: Schema.fromSpecs([
    { name: 'k', type: 'int64', key: true },
    { name: 'i8', type: 'int8', nullable: true },
    { name: 'i16', type: 'int16', nullable: true },
    { name: 'i32', type: 'int32', nullable: true },
    { name: 'ts', type: 'unixtime_micros', nullable: true },
    { name: 'd', type: 'date', nullable: true },
    { name: 'f', type: 'float', nullable: true },
    { name: 'db', type: 'double', nullable: true },
    { name: 'b', type: 'bool', nullable: true },
    { name: 's', type: 'string', nullable: true },
    { name: 'bin', type: 'binary', nullable: true },
  ]),
  partitioning: { hash: [], range: [] } as unknown as KuduTable['partitioning'],
};

const PB = messageType<Record<string, unknown>>('ColumnPredicatePB');
/** Through the real encoder and back: what the server would decode. */
const wire = (p: ScanPredicate) => PB.decode(PB.encode(predicateWire(table, p)));
const hex = (b: unknown) => Buffer.from(b as Uint8Array).toString('hex');

describe('scan predicates', () => {
  it('encodes >= as a range lower bound and < as an upper bound, nothing else set', () => {
    const lo = wire({ column: 'i32', op: '>=', value: 5 });
    expect(lo['column']).toBe('i32');
    expect(Object.keys(lo['range'] as object)).toEqual(['lower']);
    expect(hex((lo['range'] as { lower: unknown }).lower)).toBe('05000000');
    const hi = wire({ column: 'k', op: '<', value: -2n });
    expect(Object.keys(hi['range'] as object)).toEqual(['upper']);
    expect(hex((hi['range'] as { upper: unknown }).upper)).toBe('feffffffffffffff');
  });

  it('encodes each column type in its cell encoding', () => {
    const cases: [string, ScanPredicate, string][] = [
      ['i8', { column: 'i8', op: '>=', value: -1 }, 'ff'],
      ['i16', { column: 'i16', op: '>=', value: 258 }, '0201'],
      ['ts', { column: 'ts', op: '>=', value: 1n }, '0100000000000000'],
      ['d', { column: 'd', op: '>=', value: 19000 }, '384a0000'],
      ['f', { column: 'f', op: '>=', value: 1.5 }, '0000c03f'],
      ['db', { column: 'db', op: '>=', value: 1.5 }, '000000000000f83f'],
      ['b', { column: 'b', op: '>=', value: true }, '01'],
      ['s', { column: 's', op: '>=', value: 'ab' }, '6162'],
      ['bin', { column: 'bin', op: '>=', value: Uint8Array.of(0, 255) }, '00ff'],
    ];
    for (const [, p, bytes] of cases) expect(hex((wire(p)['range'] as { lower: unknown }).lower)).toBe(bytes);
  });

  it('encodes equality, in-list and the null checks', () => {
    expect(hex((wire({ column: 's', op: '=', value: 'x' })['equality'] as { value: unknown }).value)).toBe('78');
    const inList = wire({ column: 'i16', op: 'in', values: [1, 2] })['in_list'] as { values: unknown[] };
    expect(inList.values.map(hex)).toEqual(['0100', '0200']);
    expect(wire({ column: 's', op: 'isNull' })).toEqual({ column: 's', is_null: {} });
    expect(wire({ column: 's', op: 'isNotNull' })).toEqual({ column: 's', is_not_null: {} });
  });

  it('names the table and column of an unknown column or a value of the wrong type', () => {
    expect(() => predicateWire(table, { column: 'nope', op: 'isNull' })).toThrow(/table "t" has no column "nope"/);
    const err = (() => {
      try {
        predicateWire(table, { column: 'i8', op: '<', value: 300 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_KUDU_SCHEMA');
    expect((err as Error).message).toContain('column "i8"');
  });
});
