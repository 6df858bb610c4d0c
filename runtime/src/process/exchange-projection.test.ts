// Two slot processes over the loopback data plane: records a keyBy sends into a window whose
// aggregate reads one field cross with that field only (fewer bytes on the wire), and the
// results are those of the whole records.
import { describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../testing/harness.ts';
import { SlotProcess } from './slot-process.ts';

/** Nexmark bids → keyBy auction → tumbling window → `aggregate`. */
function graphWith(aggregate: Record<string, string>) {
  return validateGraph({
    sources: [
      {
        name: 'g',
        datagen: { generator: 'nexmark', seed: 9, count: 6000, events: ['bid'], startTime: 1_700_000_000_000 },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'by-auction', from: 'g', keyBy: 'auction' },
      { name: 'w', from: 'by-auction', window: { tumbling: { size: '2s' } } },
      { name: 'agg', from: 'w', aggregate },
    ],
    sinks: [{ name: 'out', from: 'agg', console: {} }],
  } satisfies GraphSpec);
}

/** Runs the graph on two slot processes to the end: the results and the data plane's bytes sent. */
async function runTwoSlots(aggregate: Record<string, string>): Promise<{ rows: string[]; bytesSent: number }> {
  const graph = graphWith(aggregate);
  const out: Emitted[] = [];
  let release!: (addresses: string[]) => void;
  const peers = new Promise<string[]>((r) => (release = r));
  const slots = [0, 1].map(
    (slot) =>
      new SlotProcess({
        jobName: 'projection',
        graph,
        parallelism: 2,
        maxParallelism: 128,
        deploymentId: 'dep-1',
        secret: 'secret-of-the-test-job',
        host: '127.0.0.1',
        dataPort: 0,
        logger: silentLogger(),
        slot,
        discover: () => peers,
        job: { sinkWriter: () => new CollectingSink(out) },
      }),
  );
  for (const s of slots) await s.listen();
  const runs = slots.map((s) => s.run());
  release(slots.map((s) => s.address));
  for (const r of await Promise.all(runs)) expect(r.state).toBe('FINISHED');
  let bytesSent = 0;
  for (const s of slots) {
    const m = await s.metrics.registry.getSingleMetric('tributary_net_bytes_sent_total')?.get();
    for (const v of m?.values ?? []) bytesSent += v.value;
  }
  return { rows: out.map((e) => JSON.stringify(e.rec)).sort(), bytesSent };
}

describe('keyed exchange projection between slot processes', () => {
  it('sends only the field the aggregate reads, with the same results', async () => {
    // max(price) reads one field; max(price + 0.0) is an expression, so every record crosses whole.
    const projected = await runTwoSlots({ n: 'count()', top: 'max(price)' });
    const whole = await runTwoSlots({ n: 'count()', top: 'max(price + 0.0)' });
    expect(projected.rows.length).toBeGreaterThan(100);
    expect(projected.rows).toEqual(whole.rows);
    expect(whole.bytesSent).toBeGreaterThan(0);
    // A bid has seven fields, its url the longest: one number per record is far less.
    expect(projected.bytesSent).toBeLessThan(whole.bytesSent * 0.6);
  }, 60_000);
});
