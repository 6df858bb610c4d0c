import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
const source = (druid: unknown) => ({
  sources: [{ name: 's', druid }],
  sinks: [{ name: 'o', from: 's', console: {} }],
});
const sink = (druid: unknown) => ({
  sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
  sinks: [{ name: 'o', from: 's', druid }],
});

describe('druid config rules', () => {
  it('source: an http(s) URL, a query, positive durations', () => {
    expect(messages(source({ url: 'ftp://r', query: 'q', refresh: '0s', timeout: 'x' }))).toEqual([
      'graph.sources[0].druid.url: expected an http(s) URL of a Druid router or broker, got "ftp://r"',
      'graph.sources[0].druid.refresh: expected a positive duration, got "0s"',
      'graph.sources[0].druid.timeout: expected a duration like "1m", got "x"',
    ]);
    expect(messages(source({ url: 'http://router:8888', query: 'SELECT 1' }))).toEqual([]);
  });

  it('sink: a datasourceRef, and the resolved kafka topic and timestamp when given', () => {
    expect(messages(sink({}))).toEqual([
      'graph.sinks[0].druid.datasourceRef: expected a non-empty string, got nothing',
    ]);
    expect(messages(sink({ datasourceRef: 'd', kafka: 'x', timestamp: 'y' }))).toEqual([
      `graph.sinks[0].druid.kafka: expected {brokers, topic} (the datasource's topic), got "x"`,
      'graph.sinks[0].druid.timestamp: expected {column, format?}, got "y"',
    ]);
    expect(messages(sink({ datasourceRef: 'd', kafka: {}, timestamp: { column: 'c', format: 'x' } }))).toEqual([
      'graph.sinks[0].druid.kafka.brokers: expected "host:port" or a list of them, got nothing',
      'graph.sinks[0].druid.kafka.topic: expected a non-empty string, got nothing',
      'graph.sinks[0].druid.timestamp.format: expected one of millis, iso, auto, posix, micro, nano, got "x"',
    ]);
  });
});
