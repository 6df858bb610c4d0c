// Each event-time step shows its watermark and its lag behind the newest record it has
// received, per slot, while the job runs: windows (CEL and function), dedupe, an interval
// join and a process function, at parallelism 2, scraped from JobMetrics as Prometheus does.
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { CollectingSink } from '../testing/harness.ts';
import { JobExecutor } from '../job/job-executor.ts';

const STEPS = ['tumble', 'fwin', 'dd', 'jn', 'proc'];
const BOUND = 2000;
const START = 1_700_000_000_000;

function gauge(text: string, name: string, labels: string): number | undefined {
  const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('operator watermarks', () => {
  it('are reported per event-time step and slot, with the lag behind the newest record seen', async () => {
    const env = new StreamEnvironment();
    const gen = env.fromDatagen(
      {
        generator: 'schema',
        seed: 1,
        count: 1_000_000,
        rate: 2000,
        startTime: START,
        eventRate: 1000,
        fields: { k: { type: 'string', prefix: 'k', cardinality: 64 }, ts: { type: 'timestamp' } },
      },
      { name: 'gen', timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: `${BOUND}ms` } },
    );
    const byK = gen.keyBy('k', 'by-k');
    byK
      .window({ tumbling: { size: '1s' } }, 'tumble')
      .aggregate({ n: 'count()' }, 'n')
      .toConsole('o1');
    byK
      .window({ tumbling: { size: '1s' } })
      .aggregate({ create: () => 0, add: (a: number) => a + 1, result: (a: number) => ({ n: a }) }, 'fwin')
      .toConsole('o2');
    byK.dedupe('1s', 'dd').toConsole('o3');
    byK.intervalJoin(gen.keyBy('k', 'by-k2'), { lowerBound: '0ms', upperBound: '0ms' }, 'jn').toConsole('o4');
    byK.process({ processElement: () => {} }, 'proc').toConsole('o5');
    const metrics = new JobMetrics();
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 2,
      metrics,
      functions: env.functions,
      sinkWriter: () => new CollectingSink([]),
    });
    const done = job.run();
    try {
      const labels = STEPS.flatMap((step) => ['0', '1'].map((slot) => `step="${step}",slot="${slot}"`));
      let text = '';
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        text = await metrics.registry.metrics();
        if (labels.every((l) => gauge(text, 'tributary_operator_watermark_lag_ms', l) !== undefined)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // One scrape: every value below was read in the same collect, between two slot steps.
      const sourceWms = ['0', '1'].map((s) => gauge(text, 'tributary_source_watermark_ms', `source="gen",slot="${s}"`));
      expect(sourceWms.every((w) => w !== undefined && w >= START - BOUND - 1)).toBe(true);
      const minSource = Math.min(...(sourceWms as number[]));
      for (const l of labels) {
        const wm = gauge(text, 'tributary_operator_watermark_ms', l);
        const lag = gauge(text, 'tributary_operator_watermark_lag_ms', l);
        expect(wm, l).toBeGreaterThanOrEqual(START - BOUND - 1);
        // Downstream of the exchange: the minimum over both source slots, as of what arrived.
        expect(wm, l).toBeLessThanOrEqual(minSource);
        // The watermark is the slowest source slot's newest − bound − 1 ms; the step has received
        // that slot's records up to it, and with 64 keys one of its own keys among the last few
        // (a record is 1 ms of event time, each slot reads every other one): lag ≥ bound − a few ms.
        expect(lag, l).toBeGreaterThanOrEqual(BOUND - 100);
      }
    } finally {
      job.stop();
      await done;
    }
  }, 60_000);
});
