// State storage that fails, with the REAL runtime, Kafka, the apiserver and the local cluster's
// S3 server (versitygw); the StreamJob controller runs in-process:
//   - wrong keys, a missing bucket: the job never runs, and status names the bucket and the S3
//     error code; a credentials Secret without the opt-in label: the spec is refused, and status
//     names the Secret and the label;
//   - S3 stopped (the server paused with SIGSTOP: requests hang as in a partition) during the
//     savepoint of a rescale: the savepoint-failure policy applies (the old pods keep running,
//     Degraded names the state storage, DependencyUnavailable says S3Unavailable naming the
//     bucket), and once S3 is back the rescale completes with the
//     output still exactly-once.
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
  const harness = harnessPerFile('sjs3f', { in: 4, out: 1 });

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

      resumeS3Server();
      const after = await runningWith(kube, ns, name, 3, before.status?.deployed?.id, 180_000);
      await untilStatus(
        kube,
        ns,
        name,
        'DependencyUnavailable False once S3 is back',
        (j) => j.status?.conditions?.find((c) => c.type === 'DependencyUnavailable')?.status === 'False',
        60_000,
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
});
