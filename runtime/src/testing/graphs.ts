// Job graphs that tests and benchmarks share.
import type { GraphSpec } from '../graph/spec.ts';

/**
 * Unbounded datagen where every record is a new key, each holding one open 1-hour window and
 * its timer: keyed state (and every checkpoint of it) grows by one key per record.
 */
export function oneKeyPerRecordGraph(seed: number): GraphSpec {
  return {
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          seed,
          startTime: 1_700_000_000_000,
          eventRate: 10_000_000,
          fields: { id: { type: 'sequence' }, v: { type: 'int', min: 0, max: 9 }, ts: { type: 'timestamp' } },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'by-id', from: 'gen', keyBy: 'id' },
      { name: 'hour', from: 'by-id', window: { tumbling: { size: '1h' } } },
      { name: 'agg', from: 'hour', aggregate: { n: 'count()', v: 'sum(v)' } },
    ],
    sinks: [{ name: 'out', from: 'agg', console: {} }],
  };
}
