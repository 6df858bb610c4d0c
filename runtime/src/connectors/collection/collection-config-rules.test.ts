import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const graph = (collection: unknown) => ({
  sources: [{ name: 's', collection }],
  sinks: [{ name: 'o', from: 's', console: {} }],
});
const messages = (collection: unknown): string[] =>
  checkGraph(graph(collection)).issues.map((i) => `${i.path}: ${i.message}`);
const types = (collection: unknown) => checkGraph(graph(collection)).graph?.nodes.get('s')?.schema;

describe('collection config rules', () => {
  it('records are a list of objects', () => {
    expect(messages({ records: [1] })).toEqual([
      'graph.sources[0].collection.records: expected a list of objects, got [1]',
    ]);
    expect(messages({ records: [], x: 1 })).toEqual([
      'graph.sources[0].collection.x: unknown field; expected one of records, values, schema',
    ]);
  });

  it('types the records by the declared schema, else by the records (dyn where they differ)', () => {
    expect(
      types({
        records: [
          { a: 1, b: 'x', c: true },
          { a: 'y', d: [1], e: { z: 1 }, f: null },
        ],
      }),
    ).toEqual({ a: 'dyn', b: 'string', c: 'bool', d: 'list', e: 'map', f: 'dyn' });
    expect(types({ records: [{ a: 1 }], schema: { a: 'string' } })).toEqual({ a: 'string' });
    expect(types({ records: [] })).toBeUndefined();
  });
});
