// S3 unavailable during periodic checkpoints (the local cluster's versitygw paused with
// SIGSTOP, so requests hang as on a network partition): the checkpoints in flight are aborted
// and counted, the job keeps running, and the next checkpoint after S3 returns completes; and
// the interval ticks that fell in the outage left no queue of triggers behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../../connectors/validate-graph.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { JobMetrics } from '../../telemetry/metrics.ts';
import { CollectingSink } from '../../testing/harness.ts';
import { oneKeyPerRecordGraph } from '../../testing/graphs.ts';
import { CheckpointCoordinator } from '../coordinator.ts';
import type { SlotCheckpointPort, TriggerCheckpoint } from '../messages.ts';
import { readMetadata } from '../metadata.ts';
import { stateStoreFor } from './state-store-for.ts';

const root = `s3://${process.env.TRIBUTARY_S3_BUCKET as string}/it-outage-${randomUUID().slice(0, 8)}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The S3 server's pid, from the cluster's state file (the component `up --with s3` started). */
function s3Pid(): number {
  const state = JSON.parse(readFileSync(join(process.env.TRIBUTARY_CLUSTER_DIR as string, 'state.json'), 'utf8')) as {
    components: { component: string; pid: number }[];
  };
  const c = state.components.find((x) => x.component === 's3');
  if (!c) throw new Error('the cluster runs no S3 server (up --with s3)');
  return c.pid;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

let paused: number | undefined;
afterAll(async () => {
  if (paused !== undefined) process.kill(paused, 'SIGCONT');
  await stateStoreFor(root).removeTree(root);
});

describe('S3 stopped during periodic checkpoints', () => {
  it('aborts and counts the checkpoints while S3 is away; the job runs on; the next one after it returns completes', async () => {
    const g = oneKeyPerRecordGraph(1);
    (g.sources[0] as { datagen: { rate?: number } }).datagen.rate = 5_000;
    const metrics = new JobMetrics();
    const job = new JobExecutor(validateGraph(g), {
      parallelism: 2,
      metrics,
      sinkWriter: () => new CollectingSink(),
      checkpointing: { stateDir: `${root}/state`, intervalMs: 300, timeoutMs: 1_500, retained: 2 },
    });
    const done = job.run();
    done.catch(() => undefined);
    const aborted = async (): Promise<number> => {
      const m = /tributary_checkpoints_total\{kind="checkpoint",result="aborted"\} (\d+)/.exec(
        await metrics.registry.metrics(),
      );
      return Number(m?.[1] ?? 0);
    };
    try {
      await until('a first checkpoint on S3', () => job.status().lastCheckpoint !== undefined);
      const pid = s3Pid();
      process.kill(pid, 'SIGSTOP');
      paused = pid;
      await until('a checkpoint aborted while S3 is stopped', async () => (await aborted()) >= 1);
      const before = job.status().lastCheckpoint?.id ?? 0;
      const recordsWhileDown = job.status().recordsIn;
      await sleep(500);
      expect(job.status().recordsIn).toBeGreaterThan(recordsWhileDown); // still running
      process.kill(pid, 'SIGCONT');
      paused = undefined;
      await until('a checkpoint completed after S3 returned', () => (job.status().lastCheckpoint?.id ?? 0) > before);
      const after = job.status().lastCheckpoint;
      expect((await readMetadata(after?.path as string)).checkpointId).toBe(after?.id);
      expect(await aborted()).toBeGreaterThanOrEqual(1);
    } finally {
      if (paused !== undefined) process.kill(paused, 'SIGCONT');
      paused = undefined;
      job.stop();
      await done.catch(() => undefined);
    }
  }, 120_000);

  it('triggers no backlog while S3 is away: periodic checkpoints resume at their interval, not in a burst', async () => {
    const interval = 500;
    /** Slots that acknowledge at once (no state): only the coordinator's own storage calls meet S3. */
    const received: { id: number; at: number }[] = []; // triggers slot 0 received, and when
    const ackAll = (t: TriggerCheckpoint): void => {
      for (const slot of [0, 1])
        coordinator.acknowledge({
          slot,
          checkpointId: t.checkpointId,
          operators: {},
          sources: {},
          sinks: {},
          stateSize: 0,
          alignmentMs: 0,
        });
    };
    const port = (slot: number): SlotCheckpointPort => ({
      trigger: (t) => {
        if (slot === 0) received.push({ id: t.checkpointId, at: Date.now() });
        setImmediate(() => slot === 0 && ackAll(t));
      },
      notifyComplete: () => {},
      notifyAborted: () => {},
    });
    const coordinator = new CheckpointCoordinator({
      stateDir: `${root}/backlog`,
      slots: [port(0), port(1)],
      maxParallelism: 128,
      graphHash: 'g',
      intervalMs: interval,
      timeoutMs: 1_000,
      retained: 2,
    });
    await coordinator.start();
    try {
      await until('a first checkpoint on S3', () => coordinator.lastCompleted !== undefined);
      const pid = s3Pid();
      process.kill(pid, 'SIGSTOP');
      paused = pid;
      // Four timeouts: every tick meanwhile (8 at 500 ms) would have queued a trigger.
      await sleep(4_000);
      const before = coordinator.lastCompleted?.id ?? 0;
      process.kill(pid, 'SIGCONT');
      paused = undefined;
      const resumedAt = Date.now();
      await until('a checkpoint completed after S3 returned', () => (coordinator.lastCompleted?.id ?? 0) > before);
      process.stderr.write(
        `s3 outage (in-process): frozen 4 s; the next checkpoint completed ${Date.now() - resumedAt} ms after SIGCONT\n`,
      );
      const since = (): { id: number; at: number }[] => received.filter((t) => t.at >= resumedAt);
      await until('four triggers after S3 returned', () => since().length >= 4);
      const after = since();
      // The storage answers again: they complete.
      await until('the fourth completed', () => (coordinator.lastCompleted?.id ?? 0) >= (after[3]?.id ?? 0));
      // Triggers queued during the outage would reach the slots back to back (milliseconds apart),
      // after the one that waited on S3; periodic ones are about an interval apart.
      for (let i = 2; i < after.length; i++)
        expect((after[i]?.at ?? 0) - (after[i - 1]?.at ?? 0)).toBeGreaterThan(interval / 2);
    } finally {
      if (paused !== undefined) process.kill(paused, 'SIGCONT');
      paused = undefined;
      coordinator.stop();
    }
  }, 120_000);
});
