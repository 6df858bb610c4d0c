// State storage that fails, with the REAL runtime, Kafka, the apiserver and the local cluster's
// S3 server (versitygw); the StreamJob controller runs in-process:
//   - wrong keys, a missing bucket: the job never runs, and status names the bucket and the S3
//     error code; a credentials Secret without the opt-in label: the spec is refused, and status
//     names the Secret and the label;
//   - S3 stopped (the server paused with SIGSTOP: requests hang as in a partition) during the
//     savepoint of a rescale: the savepoint-failure policy applies (the old pods keep running,
//     Degraded names the state storage, DependencyUnavailable says S3Unavailable naming the
//     bucket), and once S3 is back the rescale completes with the
//     output still exactly-once;
//   - S3 stopped while a slot pod is deleted (the job restarts and must restore): the new pod's
//     control API is up in its restore phase, so DependencyUnavailable says S3Unavailable naming
//     the restore and the endpoint while it waits; S3 back within the bound, the job runs again
//     from the newest checkpoint, the condition False (Available), the output exactly-once.
import type { Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { Resources, type KubeClient } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import { CREDENTIALS_LABEL } from '../../api/v1alpha1/credentials-label.ts';
import { localS3, s3StateStorage } from '../../../../test/harness/s3-state-storage.ts';
import { getJob, harnessPerFile, runningWith, scaleJob } from './testing/kafka-job-harness.ts';
import {
  finishAndCompare,
  inputProducer,
  inputRecord,
  produceLoop,
  readOutput,
  windowGraph,
  type WindowOut,
} from './testing/window-job.ts';
import { pauseS3Server, resumeS3Server } from './testing/s3-server.ts';
import { statusSays, untilStatus } from './testing/until-status.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';

afterAll(resumeS3Server);

async function secret(kube: KubeClient, ns: string, name: string, data: Record<string, string>, labelled = true) {
  await kube.create(Resources.Secret, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, ...(labelled ? { labels: { [CREDENTIALS_LABEL]: 'true' } } : {}) },
    stringData: data,
  });
}

describe('StreamJob state storage failures on S3 (real runtime, Kafka, S3 server)', () => {
  // The restore cell reads and compares its own topics (`finishAndCompare` counts a whole input topic).
  const harness = harnessPerFile('sjs3f', { in: 4, out: 1, rin: 4, rout: 1 });

  it('wrong keys or a missing bucket: the job never runs and status names the bucket and the S3 error code; an unlabelled Secret is refused by name and label', async () => {
    const h = harness();
    const { kube, ns, brokers, id } = h;
    const s3 = localS3();
    const good = await s3StateStorage(kube, ns, 'fail');
    const graph = windowGraph({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-f-${id}` });
    const fast = { maxRestarts: 1, backoff: { initial: '1s', max: '2s' } };

    await secret(kube, ns, 'wrong-keys', { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'wrong-secret' });
    await secret(kube, ns, 'unlabelled', { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, false);
    const cases = [
      {
        name: 'badkeys',
        s3: { ...good.s3, credentialsSecretRef: { name: 'wrong-keys' } },
        // AWS says InvalidAccessKeyId; versitygw (the local server) says XAdminUserNotFound.
        names: [`S3 bucket "${s3.bucket}" answered`, /answered (InvalidAccessKeyId|XAdminUserNotFound) /],
      },
      {
        name: 'nobucket',
        s3: { ...good.s3, bucket: `missing-${id}` },
        names: [`S3 bucket "missing-${id}" answered NoSuchBucket`],
      },
      {
        name: 'unlabelled',
        s3: { ...good.s3, credentialsSecretRef: { name: 'unlabelled' } },
        names: ['unlabelled', CREDENTIALS_LABEL] as (string | RegExp)[],
      },
    ];
    const createdAt = Date.now();
    for (const c of cases)
      await h.createJob(c.name, '', {
        replicas: 1,
        stateStorage: { s3: c.s3 },
        restartPolicy: fast,
        checkpointing: { interval: '1s' },
        graph,
      });
    for (const c of cases) {
      const j = await untilStatus(
        kube,
        ns,
        c.name,
        `${c.name}: status names ${c.names.map(String).join(' and ')}`,
        (j) => c.names.every((n) => (typeof n === 'string' ? statusSays(j).includes(n) : n.test(statusSays(j)))),
        120_000,
      );
      expect(j.status?.phase, statusSays(j)).not.toBe('Running');
      expect(j.status?.readyReplicas ?? 0).toBe(0);
      console.log(
        `${c.name}: status named the cause ${((Date.now() - createdAt) / 1000).toFixed(1)} s after the jobs were created`,
      );
    }
    // The unlabelled Secret is refused before any pod exists.
    const pods = (await kube.list<{ metadata: { name: string } }>(Resources.Pod, ns)).items.map((p) => p.metadata.name);
    expect(pods.filter((p) => p.startsWith('unlabelled-'))).toEqual([]);
    expect((await getJob(kube, ns, 'unlabelled')).status?.phase).toBe('Invalid');
  }, 240_000);

  it('S3 stopped during the savepoint of a rescale: old pods keep running, Degraded names the storage; the rescale completes once S3 is back, exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const name = 'outage';
    const input = h.topics.in!;
    const output = h.topics.out!;
    const stateStorage = await s3StateStorage(kube, ns, 'outage');
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, 20);
    const reader = await readOutput<WindowOut>(kafka, output, `sjs3f-reader-${id}`);
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const loop = produceLoop(producer, input, 4, rec);
    try {
      await h.createJob(name, '', {
        replicas: 2,
        upgradeMode: 'savepoint',
        stateStorage,
        // The savepoint expires in the runtime after 4 s; the operator retries with backoff.
        checkpointing: { interval: '1s', timeout: '4s' },
        savepoints: { timeout: '30s', onFailure: 'block' },
        restartPolicy: { maxRestarts: 10, backoff: { initial: '2s', max: '4s' } },
        graph: windowGraph({ brokers, input, output, groupId: `g-o-${id}` }),
      });
      const before = await runningWith(kube, ns, name, 2);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      await waitFor(
        'a checkpoint on S3',
        async () => (await getJob(kube, ns, name)).status?.lastCheckpoint !== undefined,
        60_000,
        250,
      );

      pauseS3Server();
      const pausedAt = Date.now();
      await scaleJob(kube, ns, name, 3);
      const degraded = await untilStatus(
        kube,
        ns,
        name,
        'Degraded naming the state storage while S3 is stopped',
        (j) =>
          j.status?.conditions
            ?.find((c) => c.type === 'Degraded' && c.status === 'True')
            ?.message.includes(stateStorage.s3.bucket) === true,
        90_000,
      );
      const d = degraded.status!.conditions!.find((c) => c.type === 'Degraded')!;
      expect(d.message).toMatch(/old pods keep running/);
      expect(d.message).toContain(`s3://${stateStorage.s3.bucket}/${stateStorage.s3.prefix}/${ns}/${name}`);
      // The old deployment still runs: same deployment id, still 2 slots, its pods not deleted.
      expect(degraded.status?.deployed?.id).toBe(before.status?.deployed?.id);
      const oldPods = (await kube.list<{ metadata: { name: string; deletionTimestamp?: string } }>(Resources.Pod, ns))
        .items;
      expect(
        oldPods.filter((p) => p.metadata.name.includes(before.status!.deployed!.id) && !p.metadata.deletionTimestamp)
          .length,
      ).toBe(2);

      // While it lasts the job says which dependency is down, for which component, where and why.
      const outage = await untilStatus(
        kube,
        ns,
        name,
        'DependencyUnavailable naming S3 while it is stopped',
        (j) =>
          j.status?.conditions?.find((c) => c.type === 'DependencyUnavailable' && c.status === 'True')?.reason ===
          'S3Unavailable',
        90_000,
      );
      const u = outage.status!.conditions!.find((c) => c.type === 'DependencyUnavailable')!;
      expect(u.message).toMatch(/^s3 unavailable to checkpoint storage \(slots? [0-9,]+\) at .+ bucket "/);
      expect(u.message).toContain(stateStorage.s3.bucket);
      expect(u.message).toContain('tolerableFailedCheckpoints');

      const detectS = ((Date.now() - pausedAt) / 1000).toFixed(1);
      resumeS3Server();
      const resumedAt = Date.now();
      const after = await runningWith(kube, ns, name, 3, before.status?.deployed?.id, 180_000);
      await untilStatus(
        kube,
        ns,
        name,
        'DependencyUnavailable False once S3 is back',
        (j) => j.status?.conditions?.find((c) => c.type === 'DependencyUnavailable')?.status === 'False',
        60_000,
      );
      console.log(
        `rescale while S3 is stopped: Degraded and S3Unavailable within ${detectS} s; rescaled, Running with 3 and ` +
          `Available ${((Date.now() - resumedAt) / 1000).toFixed(1)} s after S3 resumed`,
      );
      expect(after.status?.deployed?.restoredFrom).toMatch(/\/savepoints\/sp-\d+$/);
      await new Promise((r) => setTimeout(r, 2000));
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
  }, 300_000);

  it('S3 stopped while the job must restore: DependencyUnavailable names the restore and S3 while the new pod waits; back within the bound, it runs from the newest checkpoint, exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const name = 'restore';
    const input = h.topics.rin!;
    const output = h.topics.rout!;
    const stateStorage = await s3StateStorage(kube, ns, 'restore');
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, 20);
    const reader = await readOutput<WindowOut>(kafka, output, `sjs3r-reader-${id}`);
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const loop = produceLoop(producer, input, 4, rec);
    try {
      await h.createJob(name, '', {
        replicas: 1,
        stateStorage,
        // The restore-point lookup is bounded by the checkpoint timeout: it reports from 5 s, fails at 10 s.
        checkpointing: { interval: '1s', timeout: '10s' },
        restartPolicy: { maxRestarts: 10, backoff: { initial: '1s', max: '2s' } },
        graph: windowGraph({ brokers, input, output, groupId: `g-r-${id}` }),
      });
      const before = await runningWith(kube, ns, name, 1);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      await waitFor(
        'a checkpoint on S3',
        async () => (await getJob(kube, ns, name)).status?.lastCheckpoint !== undefined,
        60_000,
        250,
      );
      const slot0 = (
        await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `${DEPLOYMENT_LABEL}=${before.status!.deployed!.id}` })
      ).items[0]!;

      pauseS3Server();
      const frozenAt = Date.now();
      // `kubectl delete pod`: the job restarts all slots, which must restore from S3.
      await kube.delete(Resources.Pod, ns, slot0.metadata!.name!);
      const waiting = await untilStatus(
        kube,
        ns,
        name,
        'DependencyUnavailable S3Unavailable naming the restore while the new pod waits',
        (j) => {
          const c = j.status?.conditions?.find((x) => x.type === 'DependencyUnavailable');
          return c?.status === 'True' && c.reason === 'S3Unavailable' && / to restore \(slot 0\)/.test(c.message);
        },
        60_000,
      );
      const detectS = (Date.now() - frozenAt) / 1000;
      const u = waiting.status!.conditions!.find((c) => c.type === 'DependencyUnavailable')!;
      expect(u.message).toContain(`at ${localS3().endpoint} bucket "${stateStorage.s3.bucket}"`);
      expect(u.message).toMatch(
        /while looking up the newest checkpoint in s3:\/\/.+; fails after checkpoint timeout 10s/,
      );
      // The new deployment's pod waits in its restore phase: not ready, the job not Running.
      expect(waiting.status?.deployed?.id).not.toBe(before.status?.deployed?.id);
      expect(waiting.status?.readyReplicas ?? 0).toBe(0);
      const events = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns))
        .items;
      expect(events.some((e) => e.reason === 'DependencyUnavailable' && e.message.includes('to restore'))).toBe(true);

      resumeS3Server();
      const resumedAt = Date.now();
      const after = await runningWith(kube, ns, name, 1, before.status?.deployed?.id, 120_000);
      const available = await untilStatus(
        kube,
        ns,
        name,
        'DependencyUnavailable False once S3 is back',
        (j) => j.status?.conditions?.find((c) => c.type === 'DependencyUnavailable')?.status === 'False',
        60_000,
      );
      console.log(
        `restore while S3 is stopped: detected after ${detectS.toFixed(1)} s, running again ${((Date.now() - resumedAt) / 1000).toFixed(1)} s after S3 resumed`,
      );
      expect(available.status!.conditions!.find((c) => c.type === 'DependencyUnavailable')?.reason).toBe('Available');
      // The newest checkpoint completed before the new pod started (none completed while S3 was stopped).
      const started = Date.parse(after.status!.deployed!.startedAt);
      const newest = (await h.state(name).completed()).filter((c) => c.triggeredAt < started).at(-1);
      expect(newest?.path).toMatch(/\/checkpoints\/chk-\d+$/);
      expect(after.status?.deployed?.restoredFrom).toBe(newest!.path);
      await new Promise((r) => setTimeout(r, 2000));
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
  }, 240_000);
});
