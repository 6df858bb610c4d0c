// Which sources may hand their source bytes to a Kafka sink: only Kafka json sources whose
// records reach sinks through CEL filters alone.
import { describe, expect, it } from 'vitest';
import { passThroughSources } from './pass-through.ts';
import type { GraphSpec, SourceSpec, StepSpec } from './spec.ts';

const kafka = (name: string, extra: Partial<SourceSpec> = {}, format?: 'json' | 'string' | 'bytes'): SourceSpec => ({
  name,
  kafka: { brokers: 'b:9092', topic: name, ...(format ? { format } : {}) },
  ...extra,
});

function graph(sources: SourceSpec[], steps: StepSpec[], from: string[]): GraphSpec {
  return {
    sources,
    steps,
    sinks: from.map((f, i) => ({ name: `out${i}`, from: f, kafka: { brokers: 'b:9092', topic: `o${i}` } })),
  };
}

describe('passThroughSources', () => {
  it('a Kafka json source into sinks directly or through filters qualifies', () => {
    const g = graph(
      [kafka('a'), kafka('b', {}, 'json')],
      [
        { name: 'f1', from: 'b', filter: 'price > 1.0' },
        { name: 'f2', from: 'f1', filter: 'price < 9.0' },
      ],
      ['a', 'f2', 'b'],
    );
    expect([...passThroughSources(g)].sort()).toEqual(['a', 'b']);
  });

  it('a map, keyBy or function step anywhere downstream disqualifies the source', () => {
    const steps: StepSpec[] = [
      { name: 'f', from: 'a', filter: 'price > 1.0' },
      { name: 'm', from: 'f', map: { price: 'price' } },
      { name: 'k', from: 'b', keyBy: 'auction' },
      { name: 'fn', from: 'c', function: { kind: 'filter', ref: 'keep' } },
    ];
    const g = graph([kafka('a'), kafka('b'), kafka('c')], steps, ['m', 'k', 'fn']);
    expect(passThroughSources(g).size).toBe(0);
  });

  it('a source of format string or bytes, a timestamp assigner function or another connector does not qualify', () => {
    const g = graph(
      [
        kafka('s', {}, 'string'),
        kafka('y', {}, 'bytes'),
        kafka('t', { timestamp: { assigner: 'eventTime', maxOutOfOrderness: '0s' } }),
        { name: 'd', datagen: { generator: 'nexmark' } },
        kafka('ok', { timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' } }),
      ],
      [],
      ['s', 'y', 't', 'd', 'ok'],
    );
    expect([...passThroughSources(g)]).toEqual(['ok']);
  });
});
