import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
const sink = (kudu: unknown) => ({
  sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
  sinks: [{ name: 'o', from: 's', kudu }],
});

describe('kudu config rules', () => {
  it('sink: masters, a table, a positive integer batch size and a positive timeout', () => {
    expect(messages(sink({}))).toEqual([
      'graph.sinks[0].kudu.masters: expected "host:port" of a Kudu master or a list of them, got nothing',
      'graph.sinks[0].kudu.table: expected a non-empty string, got nothing',
    ]);
    expect(messages(sink({ masters: ['a:7051', 'b c'], table: 't', batchSize: 0, timeout: '0s', extra: 1 }))).toEqual([
      'graph.sinks[0].kudu.extra: unknown field; expected one of masters, table, batchSize, timeout',
      'graph.sinks[0].kudu.masters: expected "host:port" of a Kudu master or a list of them, got ["a:7051","b c"]',
      'graph.sinks[0].kudu.batchSize: expected an integer ≥ 1, got 0',
      'graph.sinks[0].kudu.timeout: expected a positive duration, got "0s"',
    ]);
    expect(messages(sink({ masters: 'm1:7051,m2', table: 't', batchSize: 100, timeout: '10s' }))).toEqual([]);
    expect(messages(sink({ masters: ['127.0.0.1:7051'], table: 't' }))).toEqual([]);
  });
});
