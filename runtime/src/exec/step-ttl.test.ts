// A step's `ttl` from the graph to the running operator: the TypeScript API writes it, validation
// keeps it, the operator factory builds the rolling aggregate (dedupe, join) with it, and expiries
// reach tributary_state_expired_total{step}.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { StatefulOperator } from '../operators/types.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { CollectingOutput, ManualClock, keyedBatch } from '../testing/harness.ts';
import { OperatorFactory, type OperatorWiring } from './operator-factory.ts';
import type { Slot } from './slot.ts';

/** Builds step `name` of `env`'s graph on slot 0 with a manual clock; its outputs collected. */
function built(env: StreamEnvironment, name: string) {
  const graph = validateGraph(env.toGraph());
  const metrics = new JobMetrics();
  const factory = new OperatorFactory({
    graph,
    parallelism: 1,
    maxParallelism: 128,
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const clock = new ManualClock(0);
  const out = new CollectingOutput();
  const stateful: StatefulOperator[] = [];
  const wiring = {
    outputsOf: () => out,
    stateful: (op: StatefulOperator) => stateful.push(op),
  } as unknown as OperatorWiring;
  const op = factory.build(name, Object.assign(clock, { index: 0 }) as unknown as Slot, wiring);
  return { graph, metrics, clock, out, op, stateful };
}

describe("a dedupe's ttl", () => {
  it('keeps the first record per key without within, forgets the key after the ttl, and counts it per step', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([{ k: 'a' }], { name: 'src' })
      .keyBy('k', 'by-k')
      .dedupe({ ttl: '1s', name: 'first' })
      .toConsole('out');
    const { graph, metrics, clock, out, op, stateful } = built(env, 'first');
    const spec = graph.spec.steps?.find((s) => s.name === 'first');
    expect(spec?.dedupe).toEqual({});
    expect(spec?.ttl).toBe('1s');
    expect(stateful).toEqual([op]);
    let ts = 0;
    const send = (): number => {
      ts += 10;
      op.push(keyedBatch([[{ k: 'a' }, ts, ['a']]]));
      op.watermark(ts);
      return out.take().length;
    };
    expect(send()).toBe(1);
    clock.advanceTo(999);
    expect(send()).toBe(0);
    clock.advanceTo(1000);
    expect(send()).toBe(1);
    const expired = (await metrics.stateExpired.get()).values;
    expect(expired.map((v) => [v.labels.step, v.value])).toEqual([['first', 1]]);
  });

  it('keeps the positional form: dedupe(within, name)', () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([{ k: 'a' }], { name: 'src' })
      .keyBy('k', 'by-k')
      .dedupe('1m', 'first')
      .toConsole('out');
    const spec = validateGraph(env.toGraph()).spec.steps?.find((s) => s.name === 'first');
    expect(spec?.dedupe).toEqual({ within: '1m' });
    expect(spec?.ttl).toBeUndefined();
  });
});

describe("a join's ttl", () => {
  it('expires a buffered record in the built operator and counts it per step', async () => {
    const env = new StreamEnvironment();
    const orders = env.fromCollection([{ k: 'a' }], { name: 'orders' }).keyBy('k', 'by-order');
    const shipments = env.fromCollection([{ k: 'a' }], { name: 'shipments' }).keyBy('k', 'by-shipment');
    orders
      .intervalJoin(shipments, { lowerBound: '0s', upperBound: '30d' }, { name: 'shipped', ttl: '1s' })
      .toConsole('out');
    const { graph, metrics, clock, out, op, stateful } = built(env, 'shipped');
    expect(graph.spec.steps?.find((s) => s.name === 'shipped')?.ttl).toBe('1s');
    expect(stateful).toEqual([op]);
    const join = op as unknown as { pushInput(i: number, b: ReturnType<typeof keyedBatch>): void };
    join.pushInput(0, keyedBatch([[{ k: 'a', order: 1 }, 10, ['a']]]));
    clock.advanceTo(999);
    join.pushInput(1, keyedBatch([[{ k: 'a', ship: 1 }, 20, ['a']]]));
    expect(out.take()).toEqual([{ k: 'a', order: 1, ship: 1 }]);
    clock.advanceTo(1000);
    join.pushInput(1, keyedBatch([[{ k: 'a', ship: 2 }, 30, ['a']]]));
    expect(out.take()).toEqual([]);
    const expired = (await metrics.stateExpired.get()).values;
    expect(expired.map((v) => [v.labels.step, v.value])).toEqual([['shipped', 1]]);
  });
});

describe("a rolling aggregate's ttl", () => {
  it('expires a key in the built operator and counts it per step', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([{ k: 'a' }], { name: 'src' })
      .keyBy('k', 'by-k')
      .aggregate({ n: 'count()' }, { name: 'agg', ttl: '1s' })
      .toConsole('out');
    const { graph, metrics, clock, out, op, stateful } = built(env, 'agg');
    expect(graph.spec.steps?.find((s) => s.name === 'agg')?.ttl).toBe('1s');
    expect(stateful).toEqual([op]);
    const push = () => {
      op.push(keyedBatch([[{ k: 'a' }, 1, ['a']]]));
      return out.take()[0]?.['n'];
    };
    expect(push()).toBe(1);
    clock.advanceTo(999);
    expect(push()).toBe(2);
    clock.advanceTo(999 + 1000);
    expect(push()).toBe(1);
    const expired = (await metrics.stateExpired.get()).values;
    expect(expired.map((v) => [v.labels.step, v.value])).toEqual([['agg', 1]]);
  });
});
