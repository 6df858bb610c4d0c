// An Avro schema whose named types come from other subjects: the referenced schemas parsed first,
// in dependency order, into one type registry. Against the real registry (references registered
// over REST, read by a job): registry-references-confluent.int.test.ts.
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import type { ResolvedReference, References } from '../registry/references.ts';
import { parseAvro } from './avro-schema.ts';
import { toRecordValue } from './avro-values.ts';

const MONEY = JSON.stringify({
  type: 'record',
  name: 'Money',
  namespace: 'it.shop',
  fields: [
    { name: 'currency', type: 'string' },
    { name: 'cents', type: 'long' },
  ],
});
const CUSTOMER = JSON.stringify({
  type: 'record',
  name: 'Customer',
  namespace: 'it.shop',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'balance', type: 'it.shop.Money' },
  ],
});
const ORDER = JSON.stringify({
  type: 'record',
  name: 'Order',
  namespace: 'it.shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'customer', type: 'Customer' }, // relative to the namespace, as any Avro name
    { name: 'total', type: ['null', 'it.shop.Money'], default: null },
  ],
});

const reference = (name: string, schema: string, version = 1): ResolvedReference => ({
  name,
  subject: `${name}-subject`,
  version,
  schemaType: 'AVRO',
  schema,
});
const refsOf = (...ordered: ResolvedReference[]): References => ({
  ordered,
  byName: new Map(ordered.map((r) => [r.name, r])),
});

describe('parseAvro with references', () => {
  it('resolves named types from referenced schemas, transitively, and reads with them', () => {
    const type = parseAvro(
      ORDER,
      'schema id 3',
      refsOf(reference('it.shop.Money', MONEY), reference('it.shop.Customer', CUSTOMER)),
    );
    const customer = { name: 'ada', balance: { currency: 'EUR', cents: 12n } };
    const total = { currency: 'EUR', cents: 40n };
    // avsc's value wraps the union's branch; the record holds the value itself.
    const value = { id: 'o1', customer, total: { 'it.shop.Money': total } };
    expect(toRecordValue(type, type.fromBuffer(type.toBuffer(value)))).toEqual({ id: 'o1', customer, total });
  });

  it('names the schema and the reference that does not parse, or the type no reference defines', () => {
    let caught: unknown;
    try {
      parseAvro(ORDER, 'subject "o-value" version 2', refsOf(reference('it.shop.Money', MONEY)));
    } catch (e) {
      caught = e;
    }
    expect(isTributaryError(caught, 'TRIB_FORMAT_SCHEMA')).toBe(true);
    expect((caught as Error).message).toMatch(/^subject "o-value" version 2 is not a valid Avro schema: .*Customer/);
    // Out of dependency order: Customer before the Money it uses.
    try {
      parseAvro(
        ORDER,
        'schema id 3',
        refsOf(reference('it.shop.Customer', CUSTOMER), reference('it.shop.Money', MONEY)),
      );
    } catch (e) {
      caught = e;
    }
    expect((caught as Error).message).toMatch(
      /^reference "it.shop.Customer" \(subject "it.shop.Customer-subject" version 1\) of schema id 3 is not a valid/,
    );
  });
});
