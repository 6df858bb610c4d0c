// JobMetrics.removeSlot: a slot that left the job (a live rescale drained it) leaves no series
// behind, whatever the metric and its other labels; the other slots' series stay.
import { describe, expect, it } from 'vitest';
import { TransactionMetrics } from '../connectors/kafka/transaction-metrics.ts';
import { lookupCacheEntries } from '../exec/lookup-metrics.ts';
import { JobMetrics } from './metrics.ts';
import { weightedHistogram } from './weighted-histogram.ts';

describe('JobMetrics.removeSlot', () => {
  it("removes every series labelled with the slot, of gauges and counters, and keeps the others'", async () => {
    const m = new JobMetrics();
    for (const s of ['0', '1', '2']) {
      m.watermark.labels(s).set(1);
      m.sourceLag.labels('events', s).set(3);
      m.sourceWatermark.labels('events', s).set(4);
      m.operatorTimers.labels('running', s).set(5);
      m.backpressuredSeconds.labels(s).inc(1);
      m.busySeconds.labels(s, 'eventLoop').inc(1);
      lookupCacheEntries(m.registry).labels('t', s).set(6);
    }
    const h = weightedHistogram(m.registry, { name: 'h_seconds', help: 'h', labelNames: ['slot'], buckets: [1] });
    const sinks = ['0', '1', '2'].map((s) => {
      h.observe({ slot: s }, 0.5, 3);
      // A sink's oldest open transaction: set at every scrape while the sink is open.
      return new TransactionMetrics(m.registry, 'out', Number(s), () => Date.now() - 1000);
    });
    expect(await m.registry.metrics()).toMatch(/oldest_open_transaction_seconds\{sink="out",slot="2"\}/);
    m.sourcePartitions.labels('events').set(6);
    for (const s of [2, 1]) {
      sinks[s]?.close();
      m.removeSlot(s);
    }
    const text = await m.registry.metrics();
    expect(text).not.toMatch(/slot="[12]"/);
    // 7 metrics above, the histogram's bucket, +Inf, sum and count, and the sink's gauge.
    expect(text.match(/slot="0"/g)?.length).toBe(12);
    expect(text).toMatch(/tributary_source_partitions\{source="events"\} 6/);
  });
});
