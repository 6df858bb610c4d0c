import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
const source = (kafka: unknown, extra: object = {}) => ({
  sources: [{ name: 's', kafka, ...extra }],
  sinks: [{ name: 'o', from: 's', console: {} }],
});
const sink = (kafka: unknown) => ({
  sources: [{ name: 's', collection: { records: [{ a: 1, b: 'x' }] } }],
  sinks: [{ name: 'o', from: 's', kafka }],
});

describe('kafka config rules', () => {
  it('source: brokers, topic, the dead-letter topic when onError is deadLetter', () => {
    expect(messages(source({ topic: 't' }))).toEqual([
      'graph.sources[0].kafka.brokers: expected "host:port" or a list of them, got nothing',
    ]);
    expect(messages(source({ brokers: [1] }))).toEqual([
      'graph.sources[0].kafka.brokers: expected "host:port" or a list of them, got [1]',
      'graph.sources[0].kafka.topic: expected a non-empty string, got nothing',
    ]);
    expect(messages(source({ brokers: 'b', topic: 't', onError: 'deadLetter' }))).toEqual([
      'graph.sources[0].kafka.deadLetterTopic: expected a non-empty string, got nothing',
    ]);
    expect(messages(source({ brokers: 'b', topic: 't', startFrom: 'x', format: 'z', extra: 1 }))).toEqual([
      'graph.sources[0].kafka.extra: unknown field; expected one of brokers, topic, groupId, startFrom, bounded, format, registry, keyFormat, keyField, onError, deadLetterTopic, clientId, schema, partitionDiscoveryInterval, brokerUnreachableTimeout, topicMissingTimeout, requestTimeout',
      'graph.sources[0].kafka.startFrom: expected one of earliest, latest, got "x"',
      'graph.sources[0].kafka.format: expected one of json, string, bytes, avro, protobuf, json-schema, got "z"',
    ]);
  });

  it('source: partitionDiscoveryInterval is a non-negative duration (0 = never)', () => {
    expect(messages(source({ brokers: 'b', topic: 't', partitionDiscoveryInterval: '10s' }))).toEqual([]);
    expect(messages(source({ brokers: 'b', topic: 't', partitionDiscoveryInterval: '0' }))).toEqual([]);
    expect(messages(source({ brokers: 'b', topic: 't', partitionDiscoveryInterval: 'soon' }))).toEqual([
      'graph.sources[0].kafka.partitionDiscoveryInterval: expected a duration like "1m", got "soon"',
    ]);
  });

  it('requestTimeout: a positive duration, at most brokerUnreachableTimeout (given or 30s); retries: an integer ≥ 1', () => {
    const base = { brokers: 'b', topic: 't' };
    expect(messages(source({ ...base, requestTimeout: '5s', brokerUnreachableTimeout: '10s' }))).toEqual([]);
    expect(messages(source({ ...base, requestTimeout: '30s' }))).toEqual([]);
    expect(messages(source({ ...base, requestTimeout: '0s' }))).toEqual([
      'graph.sources[0].kafka.requestTimeout: expected a positive duration, got "0s"',
    ]);
    expect(messages(source({ ...base, requestTimeout: 'soon' }))).toEqual([
      'graph.sources[0].kafka.requestTimeout: expected a duration like "1m", got "soon"',
    ]);
    expect(messages(source({ ...base, requestTimeout: '1m' }))).toEqual([
      'graph.sources[0].kafka.requestTimeout: 1m is longer than brokerUnreachableTimeout 30s: one unanswered request would outlast the bound; shorten it or raise brokerUnreachableTimeout',
    ]);
    expect(messages(sink({ ...base, requestTimeout: '2s', retries: 1 }))).toEqual([]);
    expect(messages(sink({ ...base, requestTimeout: '10s', brokerUnreachableTimeout: '5s', retries: 0 }))).toEqual([
      'graph.sinks[0].kafka.requestTimeout: 10s is longer than brokerUnreachableTimeout 5s: one unanswered request would outlast the bound; shorten it or raise brokerUnreachableTimeout',
      'graph.sinks[0].kafka.retries: expected an integer ≥ 1, got 0',
    ]);
    expect(messages(sink({ ...base, retries: 2.5 }))).toEqual([
      'graph.sinks[0].kafka.retries: expected an integer ≥ 1, got 2.5',
    ]);
  });

  it('source: records are {value, key} for string and bytes, else the declared schema', () => {
    const types = (kafka: object) => checkGraph(source(kafka)).graph?.nodes.get('s')?.schema;
    expect(types({ brokers: 'b', topic: 't', format: 'string' })).toEqual({ value: 'string', key: 'dyn' });
    expect(types({ brokers: ['b'], topic: 't', format: 'bytes' })).toEqual({ value: 'dyn', key: 'dyn' });
    expect(types({ brokers: 'b', topic: 't', schema: { a: 'int', b: 'string' } })).toEqual({
      a: 'double',
      b: 'string',
    });
    expect(types({ brokers: 'b', topic: 't' })).toBeUndefined();
    expect(messages(source({ brokers: 'b', topic: 't', schema: { b: 'blob' } }))).toEqual([
      'graph.sources[0].kafka.schema.b: expected one of double, string, bool, map, list, dyn, got "blob"',
    ]);
    expect(
      messages(
        source({ brokers: 'b', topic: 't' }, { timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' } }),
      ),
    ).toEqual([]);
  });

  it('sink: delivery, transactions, and the key typed against the input', () => {
    expect(messages(sink({ brokers: 'b', topic: 't', delivery: 'x', transactionTimeoutMs: 999 }))).toEqual([
      'graph.sinks[0].kafka.delivery: expected exactly-once or at-least-once, got "x"',
      'graph.sinks[0].kafka.transactionTimeoutMs: expected an integer number of milliseconds ≥ 1000',
    ]);
    expect(messages(sink({ brokers: 'b', topic: 't', format: 'bytes' }))).toEqual([
      'graph.sinks[0].kafka.format: expected one of json, string, avro, protobuf, json-schema, got "bytes"',
    ]);
    expect(messages(sink({ brokers: 'b', topic: 't', key: 'b' }))).toEqual([]);
    expect(messages(sink({ brokers: 'b', topic: 't', key: 'zz + 1' }))).toEqual([
      'graph.sinks[0].kafka.key: invalid expression "zz + 1": Unknown variable: zz',
    ]);
  });
});
