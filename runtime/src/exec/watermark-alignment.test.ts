// Watermark alignment in a running job: two sources in one group cover the same event time,
// one with ten times the records per second of event time of the other. Read at up to the same
// records per poll, the sparse one runs ahead in event time and is paused (visible in the
// paused-time gauge) until the dense one catches up; the results are those of the reference.
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { resolveAlignment } from '../graph/alignment.ts';
import { kafka, WatermarkStrategy } from '../graph/descriptors.ts';
import type { SourceSpec } from '../graph/spec.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import type { Emitted } from '../testing/harness.ts';

const T0 = 1_699_999_980_000; // a minute boundary
const SPAN = 600_000; // ten minutes of event time

function stream(name: string, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({ src: name, ts: T0 + Math.floor((i * SPAN) / count) }));
}

describe('watermark alignment', () => {
  it('pauses the source ahead of its group and keeps the results', async () => {
    const dense = stream('dense', 60_000);
    const sparse = stream('sparse', 6_000);
    const metrics = new JobMetrics();
    const env = new StreamEnvironment();
    const ts = (group: string) => ({
      field: 'ts',
      format: 'millis' as const,
      maxOutOfOrderness: '0ms',
      alignment: { group, maxDrift: '5s', updateInterval: '50ms' },
    });
    const a = env.fromCollection(dense, { name: 'dense', timestamp: ts('g') });
    const b = env.fromCollection(sparse, { name: 'sparse', timestamp: ts('g') });
    a.union([b])
      .keyBy('src')
      .window({ tumbling: { size: '1m' } })
      .aggregate({ n: 'count()' }, 'counts')
      .toConsole('out');
    // Polls of at most 64 records: 0.64 s of the dense source's event time, while the sparse one's
    // polls span a quarter of maxDrift (12 records, 1.2 s), so the sparse one runs ahead. (With
    // both polls sized by the drift they read the same event time per poll, and which one is
    // ahead at a moment would be a matter of rounding.)
    const got = await env.executeAndCollect({ parallelism: 1, batchSize: 64, metrics });
    const rows = (got.get('out') as Emitted[]).map((e) => e.rec);
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(`${String(r['src'])}/${String(r['window_start'])}`, r['n'] as number);
    expect(counts.size).toBe(20);
    for (const [k, n] of counts) expect(n, k).toBe(k.startsWith('dense') ? 6000 : 600);
    const text = await metrics.registry.metrics();
    const paused = (src: string): number =>
      Number(
        new RegExp(`tributary_source_alignment_paused_seconds\\{source="${src}",slot="0"\\} ([\\d.e-]+)`).exec(
          text,
        )?.[1],
      );
    expect(paused('sparse')).toBeGreaterThan(0);
    expect(paused('dense')).toBe(0);
  }, 60_000);

  it('is set from the DataStream API (withWatermarkAlignment, withoutWatermarkAlignment; the default when unset)', () => {
    const env = new StreamEnvironment();
    const src = kafka<{ ts: number }>({ brokers: 'localhost:9092', topic: 't' });
    const base = WatermarkStrategy.forBoundedOutOfOrderness<{ ts: number }>('1s').withTimestampField('ts');
    env
      .fromSource(src, { name: 'a', watermarks: base.withWatermarkAlignment('g', '30s', '1s').withIdleness('5s') })
      .print();
    env.fromSource(src, { name: 'b', watermarks: base.withoutWatermarkAlignment() }).print();
    env.fromSource(src, { name: 'c', watermarks: base }).print();
    env.fromSource(src, { name: 'd' }).print();
    const [a, b, c, d] = env.toGraph().sources;
    expect(a?.timestamp).toEqual({
      field: 'ts',
      format: 'millis',
      maxOutOfOrderness: '1s',
      idleTimeout: '5s',
      alignment: { group: 'g', maxDrift: '30s', updateInterval: '1s' },
    });
    expect(b?.timestamp?.alignment).toBe(false);
    // Unset: the default applies to a source with event time; ingestion time is never aligned.
    expect(c?.timestamp?.alignment).toBeUndefined();
    expect(resolveAlignment(c as SourceSpec)).toEqual({ group: 'c', driftMs: 20_000, updateIntervalMs: 200 });
    expect(resolveAlignment(b as SourceSpec)).toBeUndefined();
    expect(resolveAlignment(d as SourceSpec)).toBeUndefined();
  });
});
