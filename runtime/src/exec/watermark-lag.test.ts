// Watermark lag is visible while a job runs: per source slot as gauges, and in the status the
// CLI's progress line shows.
import { describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { CollectingSink } from '../testing/harness.ts';
import { JobExecutor } from '../job/job-executor.ts';

describe('watermark lag', () => {
  it('is reported per source slot and in the job status while the job runs', async () => {
    const graph = validateGraph({
      sources: [
        {
          name: 'gen',
          datagen: {
            generator: 'schema',
            seed: 1,
            count: 1_000_000,
            rate: 2000,
            startTime: 1_700_000_000_000,
            eventRate: 1000,
            fields: { k: { type: 'string', prefix: 'k', cardinality: 5 }, ts: { type: 'timestamp' } },
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '2s' },
        },
      ],
      steps: [
        { name: 'by-k', from: 'gen', keyBy: 'k' },
        { name: 'w', from: 'by-k', window: { tumbling: { size: '1s' } } },
        { name: 'n', from: 'w', aggregate: { n: 'count()' } },
      ],
      sinks: [{ name: 'out', from: 'n', console: {} }],
    });
    const metrics = new JobMetrics();
    const job = new JobExecutor(graph, { parallelism: 2, metrics, sinkWriter: () => new CollectingSink([]) });
    const done = job.run();
    try {
      const deadline = Date.now() + 30_000;
      while (job.status().watermarkLagMs === undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      // The sinks' watermark is at most the sources' (newest − 2 s − 1 ms).
      expect(job.status().watermarkLagMs).toBeGreaterThanOrEqual(2001);
      const text = await metrics.registry.metrics();
      for (const slot of ['0', '1']) {
        expect(text).toMatch(new RegExp(`tributary_source_watermark_ms\\{source="gen",slot="${slot}"\\} \\d{13}`));
        const lag = new RegExp(`tributary_source_watermark_lag_ms\\{source="gen",slot="${slot}"\\} (\\d+)`).exec(text);
        expect(Number(lag?.[1])).toBeGreaterThanOrEqual(2001);
      }
    } finally {
      job.stop();
      await done;
    }
  }, 60_000);
});
