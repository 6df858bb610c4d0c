import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const graph = (datagen: unknown) => ({
  sources: [{ name: 's', datagen }],
  sinks: [{ name: 'o', from: 's', console: {} }],
});
const messages = (datagen: unknown): string[] =>
  checkGraph(graph(datagen)).issues.map((i) => `${i.path}: ${i.message}`);
const types = (datagen: unknown) => checkGraph(graph(datagen)).graph?.nodes.get('s')?.schema;

describe('datagen config rules', () => {
  it('checks the generator and its numbers', () => {
    expect(messages({ generator: 'x' })).toEqual([
      'graph.sources[0].datagen.generator: expected one of nexmark, schema, got "x"',
    ]);
    expect(messages({ generator: 'nexmark', seed: 1.5, rate: 0, count: -1 })).toEqual([
      'graph.sources[0].datagen.seed: expected an integer, got 1.5',
      'graph.sources[0].datagen.rate: expected a number ≥ 0.001, got 0',
      'graph.sources[0].datagen.count: expected an integer ≥ 0, got -1',
    ]);
  });

  it('nexmark: records have the fields of the chosen events', () => {
    expect(messages({ generator: 'nexmark', events: [] })).toEqual([
      'graph.sources[0].datagen.events: expected a non-empty list of person, auction, bid, got []',
    ]);
    expect(types({ generator: 'nexmark', events: ['bid'] })).toEqual({
      event_type: 'string',
      ts: 'double',
      auction: 'double',
      bidder: 'double',
      price: 'double',
      channel: 'string',
      url: 'string',
    });
  });

  it('schema: every field has a generator; records have their types', () => {
    expect(messages({ generator: 'schema', fields: {} })).toEqual([
      'graph.sources[0].datagen.fields: expected a map of field name → generator ({type: int|double|string|bool|sequence|timestamp, ...}), got {}',
    ]);
    expect(messages({ generator: 'schema', fields: { a: { type: 'int', min: 5, max: 1 } } })).toEqual([
      'graph.sources[0].datagen.fields.a.max: expected max ≥ min (5), got 1',
    ]);
    expect(messages({ generator: 'schema', fields: { a: { type: 'nope', cardinality: 0 } } })).toEqual([
      'graph.sources[0].datagen.fields.a.type: expected one of int, double, string, bool, sequence, timestamp, got "nope"',
      'graph.sources[0].datagen.fields.a.cardinality: expected an integer ≥ 1, got 0',
    ]);
    expect(
      types({
        generator: 'schema',
        fields: {
          a: { type: 'int' },
          b: { type: 'string' },
          c: { type: 'bool' },
          t: { type: 'timestamp' },
          v: { type: 'int', values: ['x'] },
        },
      }),
    ).toEqual({
      a: 'double',
      b: 'string',
      c: 'bool',
      t: 'double',
      v: 'string',
    });
  });
});
