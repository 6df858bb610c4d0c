// savepoints.onFailure fallbackToCheckpoint with the REAL runtime, Kafka, the apiserver and the
// local cluster's S3 server (versitygw); the StreamJob controller runs in-process. The savepoint
// of a rescale fails because S3 is stopped (SIGSTOP: requests hang, as in a partition), which
// also stops checkpoints, so the latest checkpoint ages from the moment S3 stops:
//   - maxCheckpointAge 10m: the latest checkpoint is young enough, the rescale restores it
//     (Degraded SavepointFailedUsedCheckpoint) and completes once S3 answers again;
//   - maxCheckpointAge 1s: it is too old, the rescale blocks with the old pods running and the
//     job Stalled (NoFreshCheckpoint, naming the checkpoint and its age); once S3 is back the
//     retried savepoint completes and the rescale restores it.
// The output stays exactly-once through both. The old pods are deleted (SIGTERM) while they still
// answer checkpoints: a slot whose sinks closed declines them (slot-checkpointer.ts), else a
// checkpoint completed after the stop would record that slot's sources past the output its sink
// aborted at close, and the restore of it would lose those windows.
import type { Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import { harnessPerFile, runningWith, scaleJob } from './testing/kafka-job-harness.ts';
import { pauseS3Server, resumeS3Server } from './testing/s3-server.ts';
import { untilStatus } from './testing/until-status.ts';
import {
  finishAndCompare,
  inputProducer,
  inputRecord,
  produceLoop,
  readOutput,
  windowGraph,
  type WindowOut,
} from './testing/window-job.ts';

afterAll(resumeS3Server);

const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);

describe('savepoints.onFailure fallbackToCheckpoint (real runtime, Kafka, S3 server)', () => {
  const harness = harnessPerFile('sjfb', { in: 4, out: 1 });

  it('a rescale whose savepoint fails restores a checkpoint younger than maxCheckpointAge; with an older one it is Stalled NoFreshCheckpoint until the savepoint succeeds', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const name = 'fallback';
    const input = h.topics.in!;
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, 20);
    const reader = await readOutput<WindowOut>(kafka, h.topics.out!, `sjfb-reader-${id}`);
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const loop = produceLoop(producer, input, 4, rec);
    const checkpointAfter = async (since: string) =>
      untilStatus(
        kube,
        ns,
        name,
        `a checkpoint completed after ${since}`,
        (j) => Date.parse(j.status?.lastCheckpoint?.completedAt ?? '0') > Date.parse(since),
        60_000,
      );
    try {
      await h.createJob(name, {
        replicas: 2,
        upgradeMode: 'savepoint',
        // The runtime gives up a savepoint whose storage does not answer after 4 s.
        checkpointing: { interval: '1s', timeout: '4s' },
        savepoints: { timeout: '30s', onFailure: 'fallbackToCheckpoint', maxCheckpointAge: '10m' },
        restartPolicy: { maxRestarts: 10, backoff: { initial: '2s', max: '4s' } },
        graph: windowGraph({ brokers, input, output: h.topics.out!, groupId: `g-fb-${id}` }),
      });
      const two = await runningWith(kube, ns, name, 2);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      await checkpointAfter(two.status!.deployed!.startedAt);

      // Young: the checkpoint completed just before S3 stopped, well within 10m.
      pauseS3Server();
      await scaleJob(kube, ns, name, 3);
      const fellBack = await untilStatus(
        kube,
        ns,
        name,
        'Degraded SavepointFailedUsedCheckpoint',
        (j) => cond(j, 'Degraded')?.reason === 'SavepointFailedUsedCheckpoint',
        90_000,
      );
      const cp = fellBack.status!.pendingOperation!.restoreFrom!;
      expect(cp).toMatch(/\/checkpoints\/chk-\d+$/);
      expect(cond(fellBack, 'Degraded')?.message).toContain(`restoring checkpoint ${cp}`);
      expect(cond(fellBack, 'Stalled')?.status).toBe('False');
      resumeS3Server(); // the new pods read the checkpoint from S3
      const three = await runningWith(kube, ns, name, 3, two.status?.deployed?.id, 180_000);
      // That checkpoint, or a newer state of the lineage if one completed while the old pods went
      // (ids are one sequence per job: checkpoints and savepoints alike).
      const restored = three.status?.deployed?.restoredFrom ?? '';
      expect(restored).toMatch(/\/(checkpoints\/chk|savepoints\/sp)-\d+$/);
      expect(Number(/-(\d+)$/.exec(restored)?.[1])).toBeGreaterThanOrEqual(Number(/-(\d+)$/.exec(cp)?.[1]));

      // Old: the limit is 1s, and the savepoint fails only after the runtime waited 4 s for S3.
      await kube.patch(StreamJobs, ns, name, { spec: { savepoints: { maxCheckpointAge: '1s' } } });
      await checkpointAfter(three.status!.deployed!.startedAt);
      pauseS3Server();
      await scaleJob(kube, ns, name, 2);
      const stalled = await untilStatus(
        kube,
        ns,
        name,
        'Stalled NoFreshCheckpoint',
        (j) => cond(j, 'Stalled')?.status === 'True',
        90_000,
      );
      const s = cond(stalled, 'Stalled')!;
      expect(s.reason).toBe('NoFreshCheckpoint');
      expect(s.message).toMatch(/savepoint before rescale failed/);
      expect(s.message).toMatch(
        /the latest checkpoint \S+\/checkpoints\/chk-\d+ completed \d+s ago .*older than savepoints\.maxCheckpointAge 1s/,
      );
      expect(s.message).toMatch(/the old pods keep running/);
      // Blocked before anything destructive: the 3-slot deployment still runs, its pods untouched.
      expect(stalled.status?.deployed?.id).toBe(three.status?.deployed?.id);
      expect(stalled.status?.pendingOperation?.kind).toBe('rescale');
      const live = (
        await kube.list<{ metadata: { name: string; deletionTimestamp?: string } }>(Resources.Pod, ns)
      ).items
        .filter((p) => p.metadata.name.includes(three.status!.deployed!.id) && !p.metadata.deletionTimestamp)
        .map((p) => p.metadata.name);
      expect(live).toHaveLength(3);
      resumeS3Server();
      const back = await untilStatus(
        kube,
        ns,
        name,
        'Running with 2 slots again',
        (j) =>
          j.status?.phase === 'Running' &&
          !j.status.pendingOperation &&
          j.status.deployed?.parallelism === 2 &&
          j.status.deployed.id !== three.status?.deployed?.id,
        180_000,
      );
      expect(back.status?.deployed?.restoredFrom).toMatch(/\/savepoints\/sp-\d+$/);
      expect(back.status?.deployed?.restoredFrom).toBe(back.status?.savepoints?.at(-1)?.path);
      expect(cond(back, 'Stalled')?.status).toBe('False');

      // Exactly-once through both: the output is the reference's, nothing lost, nothing twice.
      const { want, got, check } = await finishAndCompare({
        kafka,
        loop,
        producer,
        topic: input,
        partitions: 4,
        rec,
        reader,
      });
      expect(check.missing).toEqual([]);
      expect(check.dups).toBe(0);
      expect(got.length).toBe(want.length);
    } finally {
      resumeS3Server();
      await loop.stop().catch(() => undefined);
    }
  }, 420_000);
});
