import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TransactionMetrics } from './transaction-metrics.ts';

/** Value of one sample line of the registry's text output (undefined when absent). */
async function sample(r: Registry, line: string): Promise<number | undefined> {
  const hit = (await r.metrics()).split('\n').find((l) => l.startsWith(`${line} `));
  return hit === undefined ? undefined : Number(hit.slice(line.length + 1));
}

describe('TransactionMetrics', () => {
  it('counts commits with their records and bytes and observes one visibility latency per record', async () => {
    const r = new Registry();
    const m = new TransactionMetrics(r, 'out', 1, () => undefined);
    m.begun();
    const now = 1_000_000;
    // 3 records arrived 0.2 s before the commit, 2 records 40 s before.
    m.committed({ records: 5, bytes: 120, arrivals: [now - 200, 3, now - 40_000, 2] }, now);
    expect(await sample(r, 'tributary_kafka_sink_transactions_begun_total{sink="out",slot="1"}')).toBe(1);
    expect(await sample(r, 'tributary_kafka_sink_transactions_committed_total{sink="out",slot="1"}')).toBe(1);
    expect(await sample(r, 'tributary_kafka_sink_committed_records_total{sink="out",slot="1"}')).toBe(5);
    expect(await sample(r, 'tributary_kafka_sink_committed_bytes_total{sink="out",slot="1"}')).toBe(120);
    expect(await sample(r, 'tributary_kafka_sink_visibility_latency_seconds_count{sink="out",slot="1"}')).toBe(5);
    expect(
      await sample(r, 'tributary_kafka_sink_visibility_latency_seconds_bucket{sink="out",slot="1",le="0.25"}'),
    ).toBe(3);
    expect(await sample(r, 'tributary_kafka_sink_visibility_latency_seconds_bucket{sink="out",slot="1",le="30"}')).toBe(
      3,
    );
    expect(await sample(r, 'tributary_kafka_sink_visibility_latency_seconds_bucket{sink="out",slot="1",le="60"}')).toBe(
      5,
    );
    expect(await sample(r, 'tributary_kafka_sink_visibility_latency_seconds_sum{sink="out",slot="1"}')).toBeCloseTo(
      80.6,
      6,
    );
  });

  it('counts aborts by reason with their bytes', async () => {
    const r = new Registry();
    const m = new TransactionMetrics(r, 'out', 0, () => undefined);
    m.aborted('recovery', 300);
    m.aborted('recovery', 0); // begun too shortly before a crash for its bytes to be known
    m.aborted('stopped', 50);
    expect(
      await sample(r, 'tributary_kafka_sink_transactions_aborted_total{sink="out",slot="0",reason="recovery"}'),
    ).toBe(2);
    expect(
      await sample(r, 'tributary_kafka_sink_transactions_aborted_total{sink="out",slot="0",reason="stopped"}'),
    ).toBe(1);
    expect(await sample(r, 'tributary_kafka_sink_aborted_bytes_total{sink="out",slot="0"}')).toBe(350);
  });

  it('computes the oldest open transaction age at scrape time, 0 when none; a restarted sink replaces its slot entry', async () => {
    const r = new Registry();
    let since: number | undefined = Date.now() - 5000;
    new TransactionMetrics(r, 'out', 0, () => since);
    const other = new TransactionMetrics(r, 'other', 0, () => undefined);
    expect(other).toBeDefined();
    const age = await sample(r, 'tributary_kafka_sink_oldest_open_transaction_seconds{sink="out",slot="0"}');
    expect(age).toBeGreaterThanOrEqual(5);
    expect(age).toBeLessThan(60);
    expect(await sample(r, 'tributary_kafka_sink_oldest_open_transaction_seconds{sink="other",slot="0"}')).toBe(0);
    since = undefined;
    expect(await sample(r, 'tributary_kafka_sink_oldest_open_transaction_seconds{sink="out",slot="0"}')).toBe(0);
    // Same registry, same sink and slot (an in-process restart): one series, the new provider.
    // A fixed start (a provider reading the clock after the collector did would make the age < 2 s).
    const begun = Date.now() - 2000;
    new TransactionMetrics(r, 'out', 0, () => begun);
    const again = await sample(r, 'tributary_kafka_sink_oldest_open_transaction_seconds{sink="out",slot="0"}');
    expect(again).toBeGreaterThanOrEqual(2);
    expect(again).toBeLessThan(5);
  });
});
