// The first periodic checkpoint comes as soon as the sources are open, not one interval later,
// and every checkpoint's time is recorded by phase (align, snapshot, upload, commit).
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

describe('first checkpoint', () => {
  it('completes well before one interval after the job started, with its phases measured and exported', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-first-'));
    dirs.push(stateDir);
    const g = oneKeyPerRecordGraph(1);
    (g.sources[0] as { datagen: { rate?: number } }).datagen.rate = 20_000;
    const metrics = new JobMetrics();
    const job = new JobExecutor(validateGraph(g), {
      parallelism: 2,
      metrics,
      sinkWriter: () => new CollectingSink(),
      checkpointing: { stateDir, intervalMs: 60_000 },
    });
    const started = performance.now();
    const done = job.run();
    while (!job.status().lastCheckpoint && performance.now() - started < 10_000)
      await new Promise((r) => setTimeout(r, 10));
    const elapsed = performance.now() - started;
    const first = job.status().lastCheckpoint;
    // A second checkpoint, by request: its barrier meets keyed state, so every phase has work.
    const second = await job.triggerCheckpoint();
    job.stop();
    await done;
    expect(first?.id).toBe(1);
    expect(elapsed).toBeLessThan(5_000);
    expect(second.phases).toMatchObject({
      alignMs: expect.any(Number),
      snapshotMs: expect.any(Number),
      uploadMs: expect.any(Number),
      metadataMs: expect.any(Number),
    });
    expect(second.phases?.snapshotMs).toBeGreaterThan(0);
    const text = await metrics.registry.metrics();
    for (const phase of ['align', 'snapshot', 'upload', 'commit'])
      expect(text).toMatch(
        new RegExp(`tributary_checkpoint_phase_seconds_count\\{kind="checkpoint",phase="${phase}"\\} [1-9]`),
      );
    expect(text).toMatch(/tributary_first_checkpoint_seconds \d/);
  });
});
