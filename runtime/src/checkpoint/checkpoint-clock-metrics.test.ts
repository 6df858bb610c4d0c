// What the checkpoint-stall alert (charts/tributary/rules) reads from slot 0: the checkpoint
// interval, and the time of the last completed checkpoint — the coordinator's start before one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { JobExecutor } from '../job/job-executor.ts';
import { CollectingSink } from '../testing/harness.ts';
import { oneKeyPerRecordGraph } from '../testing/graphs.ts';
import { JobMetrics } from '../telemetry/metrics.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const gauge = async (m: JobMetrics, name: string): Promise<number> =>
  (await m.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? Number.NaN;

describe('checkpoint clock metrics', () => {
  it('export the interval and move the last checkpoint time at each completion', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-cpclock-'));
    dirs.push(stateDir);
    const metrics = new JobMetrics();
    expect(await gauge(metrics, 'tributary_last_checkpoint_timestamp_seconds')).toBe(0);
    const job = new JobExecutor(validateGraph(oneKeyPerRecordGraph(1)), {
      parallelism: 1,
      metrics,
      sinkWriter: () => new CollectingSink(),
      checkpointing: { stateDir, intervalMs: 45_000 },
    });
    const beforeStart = Date.now() / 1000;
    const done = job.run();
    while (!job.status().lastCheckpoint) await new Promise((r) => setTimeout(r, 10));
    const afterFirst = await gauge(metrics, 'tributary_last_checkpoint_timestamp_seconds');
    await new Promise((r) => setTimeout(r, 20));
    const beforeSecond = Date.now() / 1000;
    await job.triggerCheckpoint();
    const afterSecond = await gauge(metrics, 'tributary_last_checkpoint_timestamp_seconds');
    job.stop();
    await done;
    expect(await gauge(metrics, 'tributary_checkpoint_interval_seconds')).toBe(45);
    expect(afterFirst).toBeGreaterThanOrEqual(beforeStart);
    expect(afterSecond).toBeGreaterThanOrEqual(beforeSecond);
  });
});
