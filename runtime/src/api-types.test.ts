// Type-level tests of the DataStream API: element and key types are inferred through the
// chain. These assertions are checked by the compiler (`npm run lint` runs tsc over tests);
// a broken inference fails type checking, and each `@ts-expect-error` fails when the wrong
// access it marks stops being an error. The runtime half only checks the graph that was built.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  StreamEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  kafka,
  type AggregateFunction,
  type DataStream,
  type KeyedStream,
  type Rec,
  type TimeWindow,
  type ValueState,
} from './api.ts';

interface Click {
  user: string;
  page: string;
  ms: number;
}

describe('DataStream API types', () => {
  it('infers element and key types through a chain', () => {
    const env = new StreamEnvironment();
    const clicks = env.fromCollection<Click>([{ user: 'a', page: 'home', ms: 3 }]);
    expectTypeOf(clicks).toEqualTypeOf<DataStream<Click>>();

    const ms = clicks.filter((c) => c.ms > 1).map((c) => c.ms * 2);
    expectTypeOf(ms).toEqualTypeOf<DataStream<number>>();

    const words = env.fromCollection(['a b', 'c']).flatMap((line) => line.split(' '));
    expectTypeOf(words).toEqualTypeOf<DataStream<string>>();

    const byUser = clicks.keyBy('user');
    expectTypeOf(byUser).toEqualTypeOf<KeyedStream<Click, string>>();
    const byLength = clicks.keyBy((c) => c.page.length);
    expectTypeOf(byLength).toEqualTypeOf<KeyedStream<Click, number>>();

    const reduced = byUser.reduce((a, b) => ({ ...a, ms: a.ms + b.ms }));
    expectTypeOf(reduced).toEqualTypeOf<DataStream<Click>>();

    const mean: AggregateFunction<Click, [number, number], number> = {
      create: () => [0, 0],
      add: ([n, s], c) => [n + 1, s + c.ms],
      result: ([n, s]) => s / n,
    };
    expectTypeOf(byUser.aggregate(mean)).toEqualTypeOf<DataStream<number>>();
    const windowed = byUser
      .window(TumblingEventTimeWindows.of('1m'))
      .aggregate(mean, (avg, user, w) => ({ user, avg, start: w.start }));
    expectTypeOf(windowed).toEqualTypeOf<DataStream<{ user: string; avg: number; start: number }>>();

    const alerts = byUser.process<{ user: string; total: number }>({
      open(ctx) {
        expectTypeOf(ctx.getState<number>('total')).toEqualTypeOf<ValueState<number>>();
      },
      processElement(c, ctx, out) {
        expectTypeOf(c).toEqualTypeOf<Click>();
        expectTypeOf(ctx.getCurrentKey()).toEqualTypeOf<string>();
        out.collect({ user: c.user, total: c.ms });
        // @ts-expect-error the collector takes the declared output type only
        out.collect({ user: c.user });
      },
    });
    expectTypeOf(alerts).toEqualTypeOf<DataStream<{ user: string; total: number }>>();

    // The CEL form keeps working and yields untyped records.
    expectTypeOf(clicks.map({ user: 'user' })).toEqualTypeOf<DataStream<Rec>>();
    expectTypeOf<TimeWindow>().toEqualTypeOf<{ start: number; end: number }>();

    // @ts-expect-error a field the element does not have
    clicks.map((c) => c.price);
    // @ts-expect-error keyBy a field the element does not have
    clicks.keyBy('price');
    const nums = env.fromCollection([1, 2]).keyBy((x) => x);
    // @ts-expect-error an aggregate of another element type
    nums.aggregate(mean);

    const typedKafka = env.fromSource(kafka<Click>({ brokers: 'localhost:9092', topic: 'clicks' }), {
      watermarks: WatermarkStrategy.forMonotonousTimestamps<Click>().withTimestampAssigner((c) => c.ms),
    });
    expectTypeOf(typedKafka).toEqualTypeOf<DataStream<Click>>();
    // @ts-expect-error a timestamp field the element does not have
    WatermarkStrategy.forMonotonousTimestamps<Click>().withTimestampField('ts');

    ms.print();
    const g = env.toGraph();
    expect(g.steps?.map((s) => Object.keys(s).find((k) => k !== 'name' && k !== 'from'))).toContain('function');
  });
});
