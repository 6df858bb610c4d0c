import { describe, expect, it } from 'vitest';
import { loadJobText } from '../graph/load.ts';
import { checkGraph, validateGraph } from './validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);

describe('validateGraph (graph rules with every connector config rule)', () => {
  it('types expressions with the field types the connectors give their records', () => {
    const g = validateGraph({
      sources: [
        {
          name: 'clicks',
          datagen: {
            generator: 'schema',
            fields: { user: { type: 'string' }, price: { type: 'double' }, ts: { type: 'timestamp' } },
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '5s' },
        },
      ],
      steps: [
        { name: 'cheap', from: 'clicks', filter: 'price < 10.0' },
        { name: 'by-user', from: 'cheap', keyBy: 'user' },
        { name: 'per-minute', from: 'by-user', window: { tumbling: { size: '1m' } } },
        { name: 'counts', from: 'per-minute', aggregate: { n: 'count()', spent: 'sum(price)' } },
      ],
      sinks: [{ name: 'out', from: 'counts', kafka: { brokers: 'b:9092', topic: 't', key: 'user' } }],
    });
    expect(g.nodes.get('counts')?.schema).toEqual({
      user: 'string',
      window_start: 'double',
      window_end: 'double',
      n: 'double',
      spent: 'double',
    });
    expect(
      messages({
        sources: [{ name: 's', collection: { records: [{ user: 'u' }] } }],
        steps: [{ name: 'f', from: 's', filter: 'user + 1 > 2' }],
        sinks: [{ name: 'o', from: 'f', console: {} }],
      }),
    ).toEqual(['graph.steps[0].filter: invalid expression "user + 1 > 2": no such overload: string + int']);
  });

  it('reports graph and connector issues in one list, in spec order', () => {
    expect(
      messages({
        sources: [{ name: 'x', kafka: { topic: 't' }, extra: 1 }],
        sinks: [{ name: 'o', from: 'x', console: {} }],
      }),
    ).toEqual([
      'graph.sources[0].extra: unknown field; expected one of name, timestamp, kafka, datagen, file, collection, druid, kudu',
      'graph.sources[0].kafka.brokers: expected "host:port" or a list of them, got nothing',
    ]);
  });
});

describe('loadJobText, then validation', () => {
  const manifest = `
apiVersion: tributary.dev/v1alpha1
kind: StreamJob
metadata: { name: demo }
spec:
  replicas: 3
  graph:
    sources: [{ name: s, datagen: { generator: nexmark, rate: 10 } }]
    sinks: [{ name: o, from: s, console: {} }]
`;
  it('reads a bare graph', () => {
    const j = loadJobText(
      'sources: [{ name: s, datagen: { generator: nexmark } }]\nsinks: [{ name: o, from: s, console: {} }]\n',
      ['graph.sinks[0].console.prefix=true'],
    );
    expect(validateGraph(j.graph).spec.sinks[0]?.console).toEqual({ prefix: true });
  });

  it('prefixes validation paths with spec.graph for manifests', () => {
    const j = loadJobText(manifest, ['graph.sources[0].datagen.rate=fast']);
    expect(checkGraph(j.graph, j.graphPath).issues[0]?.path).toBe('spec.graph.sources[0].datagen.rate');
  });
});
