// The health check acting (spec.health; docs/operator/health.md), with the REAL runtime, the
// apiserver and the local cluster's S3 server; the StreamJob controller runs in-process.
//
// S3 stopped (SIGSTOP: requests hang, as in a partition) under a running job: its checkpoints
// cannot complete. The runtime tolerates that for tolerableFailedCheckpoints checkpoints, each
// of which may hang until checkpointing.timeout; here 100 × 60 s, so the runtime alone would
// let the job run without a checkpoint for well over an hour. That is the case the health check
// exists for: past spec.health.checkpointTimeout (5 s) CheckpointProgress turns False with a
// Warning Event, and restartOnUnhealthy restarts the job from its last completed checkpoint
// (an Event saying why, counted in status.restarts). S3 back, the restarted deployment runs
// and completes a checkpoint, and the condition turns True again.
import { afterAll, describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { harnessPerFile, runningWith } from './testing/kafka-job-harness.ts';
import { pauseS3Server, resumeS3Server } from './testing/s3-server.ts';
import { untilStatus } from './testing/until-status.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';

afterAll(resumeS3Server);

const progress = (j: StreamJob) => j.status?.conditions?.find((c) => c.type === 'CheckpointProgress');

describe('the health check (real runtime, S3 server)', () => {
  const harness = harnessPerFile('sjhealth', { unused: 1 });

  it('S3 stopped: checkpoints stall past spec.health.checkpointTimeout, CheckpointProgress False, the job restarts from its last checkpoint', async () => {
    const h = harness();
    const { kube, ns } = h;
    const name = 'stall';
    const began = Date.now();
    await h.createJob(name, {
      replicas: 1,
      checkpointing: { interval: '1s', timeout: '60s', tolerableFailedCheckpoints: 100 },
      health: { checkpointTimeout: '5s', restartOnUnhealthy: true },
      restartPolicy: { maxRestarts: 5, backoff: { initial: '1s', max: '2s' } },
      graph: {
        sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 20, fields: { c: { type: 'string' } } } }],
        sinks: [{ name: 'out', from: 'gen', console: {} }],
      },
    });
    const before = await runningWith(kube, ns, name, 1, undefined, 60_000);
    const healthy = await untilStatus(
      kube,
      ns,
      name,
      'a checkpoint on S3 and CheckpointProgress True',
      (j) => j.status?.lastCheckpoint !== undefined && progress(j)?.status === 'True',
      30_000,
    );
    expect(progress(healthy)?.reason).toBe('CheckpointsCompleting');

    pauseS3Server();
    const pausedAt = Date.now();
    let restarted: StreamJob | undefined;
    try {
      const stalled = await untilStatus(
        kube,
        ns,
        name,
        'CheckpointProgress False while S3 is stopped',
        (j) => progress(j)?.status === 'False',
        30_000,
      );
      const last = stalled.status?.lastCheckpoint;
      expect(progress(stalled)?.reason).toBe('CheckpointsStalled');
      expect(progress(stalled)?.message).toContain('spec.health.checkpointTimeout 5s');
      expect(progress(stalled)?.message).toContain(
        `the last completed checkpoint is ${last?.id} at ${last?.completedAt}`,
      );
      restarted = await untilStatus(
        kube,
        ns,
        name,
        'a restart by the health check',
        (j) => (j.status?.restarts ?? 0) >= 1,
        30_000,
      );
      // The job ran all along: the runtime did not fail it, the health check restarted it.
      const events = (
        await kube.list<{ reason: string; type: string; message: string; metadata?: object }>(Resources.Event, ns)
      ).items;
      expect(events.map((e) => e.reason)).not.toContain('SlotFailed');
      const why = events.find((e) => e.reason === 'RestartUnhealthy');
      expect(why?.type).toBe('Warning');
      expect(why?.message).toMatch(/no checkpoint completed for longer than spec\.health\.checkpointTimeout 5s/);
      expect(events.find((e) => e.reason === 'CheckpointsStalled')?.type).toBe('Warning');
      console.log(
        `S3 stopped: CheckpointProgress False and the restart started ${((Date.now() - pausedAt) / 1000).toFixed(1)} s later`,
      );
    } finally {
      resumeS3Server();
    }
    const after = await untilStatus(
      kube,
      ns,
      name,
      'the restarted deployment runs and completes a checkpoint: CheckpointProgress True',
      (j) => j.status?.phase === 'Running' && !j.status.pendingOperation && progress(j)?.status === 'True',
      60_000,
    );
    expect(restarted?.status?.pendingOperation?.kind).toBe('restart');
    // A new deployment, restored from a completed checkpoint (the one the condition named, or one the old pods
    // completed after S3 came back while they stopped).
    expect(after.status?.deployed?.id).not.toBe(before.status?.deployed?.id);
    expect(after.status?.deployed?.restoredFrom).toMatch(/checkpoints\/chk-\d+$/);
    const events = (await kube.list<{ reason: string; type: string; metadata?: object }>(Resources.Event, ns)).items;
    expect(events.find((e) => e.reason === 'CheckpointsCompleting')?.type).toBe('Normal');
    console.log(`health check e2e: ${((Date.now() - began) / 1000).toFixed(1)} s in all`);
  }, 180_000);
});
