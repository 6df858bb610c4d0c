// The DataStream API's dead letters beyond function steps: a CEL step, a keyBy, an aggregate, a
// join or a kafka sink given `{ errorOutput }` yields a stream (`errors()`, or what sinkTo
// returns) of {step, error, code?, record} for the records it failed on, at their event time.
import { describe, expect, it } from 'vitest';
import { kafkaSink, StreamEnvironment, TumblingEventTimeWindows, WatermarkStrategy, type ErrorRecord } from './api.ts';
import type { Emitted } from './testing/harness.ts';

interface Order {
  id: number;
  user: string;
  qty: string;
  ts: number;
}
const orders: Order[] = [
  { id: 1, user: 'a', qty: '2', ts: 1000 },
  { id: 2, user: 'a', qty: 'two', ts: 2000 },
  { id: 3, user: 'b', qty: '4', ts: 3000 },
];

function source(env: StreamEnvironment) {
  return env.fromCollection<Order>(orders, {
    watermarks: WatermarkStrategy.forMonotonousTimestamps<Order>().withTimestampAssigner((o) => o.ts),
  });
}

/** The dead letters of sink `name`: [event time, step, record id]. */
const dead = (out: Map<string, Emitted[]>, name: string) =>
  (out.get(name) ?? []).map((e) => {
    const r = e.rec as unknown as ErrorRecord;
    return [
      e.ts,
      r.step,
      (r.record as { id?: number; left?: { id: number } }).id ?? (r.record as { left: { id: number } }).left.id,
    ];
  });

describe('errorOutput in the DataStream API', () => {
  it('CEL map, function keyBy and windowed aggregate: errors() reads what each failed on', async () => {
    for (const parallelism of [1, 2]) {
      const env = new StreamEnvironment();
      const mapped = source(env).map(
        { id: 'id', user: 'user', qty: 'qty', n: 'int(qty)' },
        { name: 'parse', errorOutput: 'unparsed' },
      );
      mapped.errors().print('dead-map');
      const keyed = source(env).keyBy(
        (o) => {
          if (o.id === 3) throw new Error('no key for 3');
          return o.user;
        },
        { name: 'by-user', errorOutput: 'unkeyed' },
      );
      keyed.errors().print('dead-key');
      const totals = source(env)
        .keyBy('user')
        .window(TumblingEventTimeWindows.of('10s'))
        .aggregate({ total: 'sum(int(qty))' }, { name: 'totals', errorOutput: 'unsummed' });
      totals.print('totals-out');
      totals.errors().print('dead-agg');
      keyed.aggregate({ c: 'count()' }).print('counts');
      const out = await env.executeAndCollect({ parallelism });
      expect(dead(out, 'dead-map')).toEqual([[2000, 'parse', 2]]);
      expect(dead(out, 'dead-key')).toEqual([[3000, 'by-user', 3]]);
      expect(out.get('dead-key')![0]!.rec['error']).toBe('no key for 3');
      expect(dead(out, 'dead-agg')).toEqual([[2000, 'totals', 2]]);
      // A sum of CEL ints is an int: a BigInt in the record.
      expect((out.get('totals-out') ?? []).map((e) => e.rec['total']).sort()).toEqual([2n, 4n]);
      expect((out.get('counts') ?? []).map((e) => e.rec['c'])).toEqual([1, 2]);
    }
  });

  it('interval join and kafka sink: the join’s errors() and the stream sinkTo returns', async () => {
    const env = new StreamEnvironment();
    const left = source(env).keyBy('user');
    const right = source(env).keyBy('user');
    const joined = left.intervalJoin(
      right,
      { lowerBound: '0s', upperBound: '0s', select: { id: 'left.id', n: 'int(left.qty) + int(right.qty)' } },
      { name: 'j', errorOutput: 'unjoined' },
    );
    joined.errors().print('dead-join');
    const unkeyed = source(env).sinkTo(kafkaSink({ brokers: '127.0.0.1:1', topic: 't', key: 'int(qty)' }), {
      name: 'orders-out',
      errorOutput: 'unkeyed',
    });
    unkeyed.print('dead-sink');
    const out = await env.executeAndCollect();
    expect(dead(out, 'dead-join')).toEqual([[2000, 'j', 2]]);
    expect(dead(out, 'dead-sink')).toEqual([[2000, 'orders-out', 2]]);
    expect((out.get('orders-out') ?? []).map((e) => e.rec['id'])).toEqual([1, 3]);
  });

  it('errors() of a stream whose step named no errorOutput is refused', () => {
    const env = new StreamEnvironment();
    expect(() => source(env).keyBy({ expr: 'user' }).errors()).toThrow(/has no errorOutput/);
  });
});
