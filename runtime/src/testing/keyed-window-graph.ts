// TEST-ONLY: the keyed tumbling-window job the restore tests share: seeded datagen records
// {k, v, ts} (plus a sequence `id` when asked) → keyBy k → window → count/sum → console.
import type { GraphSpec } from '../graph/spec.ts';

export interface KeyedWindowGraph {
  /** Records per second; undefined = as fast as possible. */
  rate?: number | undefined;
  count: number;
  seed: number;
  /** Distinct keys. */
  keys: number;
  windowSize: string;
  /** Name of the window step (its state is checkpointed under it). */
  windowStep?: string;
  /** Adds a sequence field `id`. */
  withId?: boolean;
}

export function keyedWindowGraph(o: KeyedWindowGraph): GraphSpec {
  const windowStep = o.windowStep ?? 'per-key';
  return {
    sources: [
      {
        name: 'events',
        datagen: {
          generator: 'schema',
          seed: o.seed,
          count: o.count,
          ...(o.rate ? { rate: o.rate } : {}),
          startTime: 1_700_000_000_000,
          eventRate: 1000,
          fields: {
            ...(o.withId ? { id: { type: 'sequence' } } : {}),
            k: { type: 'string', prefix: 'k', cardinality: o.keys },
            v: { type: 'int', min: 0, max: 100 },
            ts: { type: 'timestamp' },
          },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '2s' },
      },
    ],
    steps: [
      { name: 'byKey', from: 'events', keyBy: 'k' },
      { name: windowStep, from: 'byKey', window: { tumbling: { size: o.windowSize } } },
      { name: 'agg', from: windowStep, aggregate: { n: 'count()', total: 'sum(v)' } },
    ],
    sinks: [{ name: 'out', from: 'agg', console: {} }],
  };
}
