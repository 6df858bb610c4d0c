import { describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { validateGraph } from '../validate-graph.ts';
import { CollectingSink, sortedJson, type Emitted } from '../../testing/harness.ts';

async function collect(g: GraphSpec, parallelism: number, stopAfterMs?: number): Promise<Emitted[]> {
  const got: Emitted[] = [];
  const job = new JobExecutor(validateGraph(g), { parallelism, sinkWriter: () => new CollectingSink(got) });
  if (stopAfterMs !== undefined) setTimeout(() => job.stop(), stopAfterMs);
  await job.run();
  return got;
}

const graph = (datagen: NonNullable<GraphSpec['sources'][number]['datagen']>): GraphSpec => ({
  sources: [{ name: 'g', datagen }],
  sinks: [{ name: 'o', from: 'g', console: {} }],
});

describe('datagen', () => {
  it('generates the same records at any parallelism (seeded, per record index)', async () => {
    const spec = { generator: 'nexmark' as const, seed: 9, count: 2000, startTime: 1_700_000_000_000 };
    const p1 = sortedJson((await collect(graph(spec), 1)).map((e) => e.rec));
    const p3 = sortedJson((await collect(graph(spec), 3)).map((e) => e.rec));
    expect(p1).toHaveLength(2000);
    expect(p3).toEqual(p1);
    const kinds = p1.map((l) => (JSON.parse(l) as { event_type: string }).event_type);
    expect(kinds.filter((k) => k === 'person')).toHaveLength(40);
    expect(kinds.filter((k) => k === 'auction')).toHaveLength(120);
    const other = sortedJson((await collect(graph({ ...spec, seed: 10 }), 1)).map((e) => e.rec));
    expect(other).not.toEqual(p1);
  });

  it('generates schema fields within their bounds with event time from the index', async () => {
    const recs = await collect(
      graph({
        generator: 'schema',
        count: 500,
        startTime: 1000,
        eventRate: 10,
        fields: {
          id: { type: 'sequence' },
          n: { type: 'int', min: 3, max: 5 },
          x: { type: 'double', min: -1, max: 1 },
          c: { type: 'string', values: ['a', 'b'] },
          u: { type: 'string', prefix: 'u', cardinality: 3 },
          ts: { type: 'timestamp' },
        },
      }),
      1,
    );
    expect(recs).toHaveLength(500);
    for (const { rec } of recs) {
      expect(rec['n']).toBeGreaterThanOrEqual(3);
      expect(rec['n']).toBeLessThanOrEqual(5);
      expect(Number.isInteger(rec['n'])).toBe(true);
      expect(Math.abs(rec['x'] as number)).toBeLessThanOrEqual(1);
      expect(['a', 'b']).toContain(rec['c']);
      expect(['u0', 'u1', 'u2']).toContain(rec['u']);
      expect(rec['ts']).toBe(1000 + (rec['id'] as number) * 100);
    }
  });

  it('is rate limited: never more records than the rate allows for the time it ran', async () => {
    // Waits for the records instead of a fixed time, so a slow machine makes this slower, not red:
    // only the upper bound is the rate limit's promise (unlimited, 300 records take about a millisecond).
    const got: Emitted[] = [];
    const job = new JobExecutor(validateGraph(graph({ generator: 'nexmark', rate: 1000 })), {
      parallelism: 2,
      sinkWriter: () => new CollectingSink(got),
    });
    const t0 = Date.now();
    const done = job.run();
    while (got.length < 300) await new Promise((r) => setTimeout(r, 10));
    const elapsed = Date.now() - t0;
    const seen = got.length;
    await job.stop();
    await done;
    expect(seen).toBeLessThanOrEqual(Math.ceil(elapsed) + 2);
  });
});
