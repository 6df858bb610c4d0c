// Which exchanges pass origins on (origin-exchanges.ts): only one with a Kafka source before it
// and a step or sink behind it that names origins in its dead letters, with no merging step in
// between, in a job that has an errorOutput at all.
import { describe, expect, it } from 'vitest';
import { UNTYPED_CONNECTOR_RULES } from './testing/untyped-rules.ts';
import { originsCross, restoresDeadLetterOrigins } from './origin-exchanges.ts';
import type { GraphSpec, SinkSpec, StepSpec } from './spec.ts';
import { validateGraphWith } from './validate.ts';

const kafka = { name: 'in', kafka: { brokers: ['b:9092'], topic: 't', groupId: 'g' } };
const gen = { name: 'in', datagen: { generator: 'nexmark', count: 1 } };

function graph(steps: StepSpec[], sinks: SinkSpec[], source: object = kafka) {
  const spec = { sources: [source], steps, sinks } as unknown as GraphSpec;
  return validateGraphWith(spec, UNTYPED_CONNECTOR_RULES);
}
const print = (name: string, from: string): SinkSpec => ({ name, from, console: {} }) as SinkSpec;
const by: StepSpec = { name: 'by', from: 'in', keyBy: 'user' };
const failing: StepSpec = { name: 'm', from: 'by', map: { n: 'int(x)' }, errorOutput: 'bad' };

describe('originsCross', () => {
  it('kafka → keyBy → map with errorOutput: the keyBy exchange passes them', () => {
    expect(originsCross(graph([by, failing], [print('o', 'm'), print('d', 'bad')]), 'by', 'm')).toBe(true);
  });

  it('also through stateless steps on both sides and a second keyBy', () => {
    const g = graph(
      [
        { name: 'f', from: 'in', filter: 'x != null' },
        { name: 'by', from: 'f', keyBy: 'user' },
        { name: 'p', from: 'by', map: { user: 'user', x: 'x' } },
        { name: 'by2', from: 'p', keyBy: 'x' },
        { name: 'm', from: 'by2', map: { n: 'int(x)' }, errorOutput: 'bad' },
      ],
      [print('o', 'm'), print('d', 'bad')],
    );
    expect(originsCross(g, 'by', 'p')).toBe(true);
    expect(originsCross(g, 'by2', 'm')).toBe(true);
  });

  it('not without a Kafka source, without errorOutput, or with it only before the exchange', () => {
    const sinks = [print('o', 'm'), print('d', 'bad')];
    expect(originsCross(graph([by, failing], sinks, gen), 'by', 'm')).toBe(false);
    expect(
      originsCross(graph([by, { name: 'm', from: 'by', map: { n: 'int(x)' } }], [print('o', 'm')]), 'by', 'm'),
    ).toBe(false);
    const before = graph(
      [
        { name: 'm', from: 'in', map: { n: 'int(x)', user: 'user' }, errorOutput: 'bad' },
        { name: 'by', from: 'm', keyBy: 'user' },
        { name: 'p', from: 'by', map: { n: 'n' } },
      ],
      [print('o', 'p'), print('d', 'bad')],
    );
    expect(originsCross(before, 'by', 'p')).toBe(false);
  });

  it('not into a merging step, even with an errorOutput behind it', () => {
    const g = graph(
      [
        by,
        { name: 'w', from: 'by', window: { tumbling: { size: '1s' } } },
        { name: 'agg', from: 'w', aggregate: { s: 'sum(int(x))' }, errorOutput: 'bad' },
        { name: 'm', from: 'agg', map: { n: 'int(s)' }, errorOutput: 'bad2' },
      ],
      [print('o', 'm'), print('d', 'bad'), print('d2', 'bad2')],
    );
    expect(originsCross(g, 'by', 'w')).toBe(false);
  });

  it("a kafka sink's key check behind the exchange needs them", () => {
    const sink = {
      name: 'o',
      from: 'by',
      kafka: { brokers: ['b:9092'], topic: 'o', key: 'int(x)' },
      errorOutput: 'bad',
    };
    const g = graph([by], [sink as unknown as SinkSpec, print('d', 'bad')]);
    expect(originsCross(g, 'by', 'o')).toBe(true);
  });
});

describe('restoresDeadLetterOrigins', () => {
  it('a kafka sink behind a keyBy of an error stream rebuilds origins; one chained with it does not', () => {
    const dlq = (name: string, from: string) =>
      ({ name, from, kafka: { brokers: ['b:9092'], topic: name } }) as unknown as SinkSpec;
    const g = graph(
      [
        { name: 'm', from: 'in', map: { n: 'int(x)' }, errorOutput: 'bad' },
        { name: 'by-step', from: 'bad', keyBy: 'step' },
      ],
      [print('o', 'm'), dlq('chained', 'bad'), dlq('behind', 'by-step')],
    );
    expect(restoresDeadLetterOrigins(g, 'chained')).toBe(false);
    expect(restoresDeadLetterOrigins(g, 'behind')).toBe(true);
    expect(restoresDeadLetterOrigins(g, 'o')).toBe(false);
  });
});
