// State lifecycle on object storage with the REAL runtime, Kafka, the apiserver and the local
// cluster's S3 server (versitygw); the StreamJob controller runs in-process. What is in the bucket
// is listed before and after each action:
//   - retention Delete: savepoints dropped beyond historyLimit lose their objects, checkpoints
//     beyond `retained` are pruned; an orphan savepoint (taken directly through slot 0's API and
//     never recorded, or a half-written folder put into the bucket) is swept after the next
//     recorded savepoint, while one spec.restore.savepointPath names is never swept; the final
//     savepoint on delete lands in the bucket, complete.
//   - retention Retain: nothing is deleted — dropped savepoints, pruned checkpoints and orphans
//     all stay.
//   - the periodic sweep (a short cadence here) takes an orphan while the job just runs.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { Resources, type KubeClient } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { RuntimeClient } from '../../runtime-client/client.ts';
import { listKeys, localS3, s3StateStorage } from '../../../../test/harness/s3-state-storage.ts';
import { TOKEN_KEY, tokenSecretName } from './objects/control-token.ts';
import { podName } from './objects/slot-pod.ts';
import type { Pod } from './objects/slot-pod.ts';
import { StreamJobs } from './resource.ts';
import { getJob, harnessPerFile, runningWith } from './testing/kafka-job-harness.ts';
import { windowGraph } from './testing/window-job.ts';
import { defaultCadence } from './phases.ts';

/** Keys of the job's location: `s3://bucket/<key prefix>`. */
const keyPrefixOf = (uri: string) => uri.replace(/^s3:\/\/[^/]+\//, '');

/** Names of the folders under `<location>/<kind>/` in the bucket (chk-<n> / sp-<n>). */
async function folders(location: string, kind: 'checkpoints' | 'savepoints'): Promise<string[]> {
  const base = `${keyPrefixOf(location)}/${kind}/`;
  const names = new Set<string>();
  for (const k of await listKeys(`${keyPrefixOf(location)}/${kind}`)) names.add(k.slice(base.length).split('/')[0]!);
  return [...names].sort((a, b) => Number(a.slice(a.indexOf('-') + 1)) - Number(b.slice(b.indexOf('-') + 1)));
}

/** Slot 0's control API of the running deployment, with the job's token. */
async function slot0(kube: KubeClient, job: StreamJob): Promise<{ base: string; token: string }> {
  const ns = job.metadata.namespace;
  const pod = await kube.get<Pod>(Resources.Pod, ns, podName(job.metadata.name, job.status!.deployed!.id, 0));
  const secret = await kube.get<{ metadata?: object; data: Record<string, string> }>(
    Resources.Secret,
    ns,
    tokenSecretName(job.metadata.name),
  );
  return {
    base: RuntimeClient.baseUrl(pod.status!.podIP!),
    token: Buffer.from(secret.data[TOKEN_KEY]!, 'base64').toString('utf8'),
  };
}

/** A savepoint taken directly through slot 0 (the operator never records it): its path. */
async function unrecordedSavepoint(runtime: RuntimeClient, kube: KubeClient, job: StreamJob): Promise<string> {
  const { base, token } = await slot0(kube, job);
  const { id } = await runtime.triggerSavepoint(base, token, { stop: false });
  return waitFor(
    `savepoint ${id} taken through slot 0`,
    async () => {
      const s = await runtime.savepoint(base, token, id);
      if (s.state === 'FAILED') throw new Error(`savepoint ${id} failed: ${s.error}`);
      return s.state === 'COMPLETED' ? s.path : undefined;
    },
    60_000,
    200,
  );
}

/** Bumps spec.savepointNonce and waits until that savepoint is recorded; returns the job. */
async function manualSavepoint(kube: KubeClient, ns: string, name: string, nonce: number): Promise<StreamJob> {
  await kube.patch(StreamJobs, ns, name, { spec: { savepointNonce: nonce } });
  return waitFor(
    `${name}: savepoint for savepointNonce ${nonce} recorded`,
    async () => {
      const j = await getJob(kube, ns, name);
      return j.status?.savepointNonce === nonce && !j.status.pendingOperation ? j : undefined;
    },
    90_000,
    250,
  );
}

const folderOf = (path: string) => path.split('/').filter(Boolean).at(-1)!;

/** A savepoint folder with one state file and no metadata, put straight into the bucket. */
async function putHalfWrittenFolder(location: string, folder: string): Promise<void> {
  const s3 = localS3();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: `${keyPrefixOf(location)}/savepoints/${folder}/w.slot-0.kstate`,
        Body: 'half-written',
      }),
    );
  } finally {
    client.destroy();
  }
}

type EventItem = { metadata?: object; reason: string; message: string };

describe('StreamJob state lifecycle on S3 (real runtime, Kafka, S3 server)', () => {
  const harness = harnessPerFile('sjs3l', { in: 2, out: 1 });
  const runtime = new RuntimeClient({ timeoutMs: 10_000 });

  it('Delete: history and checkpoint retention delete objects, orphans are swept, a referenced savepoint never is; the final savepoint lands in the bucket', async () => {
    const h = harness();
    const { kube, ns, brokers, id } = h;
    const name = 'del';
    const stateStorage = await s3StateStorage(kube, ns, 'life-del');
    const location = `s3://${stateStorage.s3.bucket}/${stateStorage.s3.prefix}/${ns}/${name}`;
    await h.createJob(name, '', {
      replicas: 2,
      stateStorage,
      checkpointing: { interval: '500ms', retained: 1 },
      savepoints: { historyLimit: 1, onDelete: true, timeout: '60s' },
      graph: windowGraph({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-del-${id}` }),
    });
    await runningWith(kube, ns, name, 2);

    // Checkpoint retention: the first checkpoints' objects go once newer ones completed.
    const firstChk = await waitFor(
      'checkpoints in the bucket',
      async () => (await folders(location, 'checkpoints'))[0],
    );
    await waitFor(
      `${firstChk} pruned from the bucket (retained: 1)`,
      async () => !(await folders(location, 'checkpoints')).includes(firstChk),
      60_000,
      500,
    );

    // History retention: the savepoint dropped beyond historyLimit 1 loses its objects.
    const j1 = await manualSavepoint(kube, ns, name, 1);
    const sp1 = folderOf(j1.status!.savepoints!.at(-1)!.path);
    expect(j1.status!.savepoints!.at(-1)!.path).toBe(`${location}/savepoints/${sp1}`);
    expect(await listKeys(`${keyPrefixOf(location)}/savepoints/${sp1}`)).toContain(
      `${keyPrefixOf(location)}/savepoints/${sp1}/_metadata.json`,
    );
    const j2 = await manualSavepoint(kube, ns, name, 2);
    const sp2 = folderOf(j2.status!.savepoints!.at(-1)!.path);
    expect(j2.status!.savepoints!.map((s) => folderOf(s.path))).toEqual([sp2]);
    await waitFor(
      `${sp1} deleted from the bucket (beyond historyLimit)`,
      async () => (await listKeys(`${keyPrefixOf(location)}/savepoints/${sp1}`)).length === 0,
      30_000,
      250,
    );
    expect(await folders(location, 'savepoints')).toEqual([sp2]);

    // Orphans: two savepoints taken behind the operator's back, and a half-written folder put
    // into the bucket (sp-1 cannot be a savepoint: checkpoint 1 took that id).
    const kept = await unrecordedSavepoint(runtime, kube, j2);
    const orphan = await unrecordedSavepoint(runtime, kube, j2);
    await putHalfWrittenFolder(location, 'sp-1');
    // spec.restore.savepointPath names one of them: it must survive every sweep.
    await kube.patch(StreamJobs, ns, name, { spec: { restore: { savepointPath: kept } } });
    expect(await folders(location, 'savepoints')).toEqual(['sp-1', sp2, folderOf(kept), folderOf(orphan)]);

    // The next recorded savepoint: its history disposal takes sp2, the sweep takes the orphans.
    const j3 = await manualSavepoint(kube, ns, name, 3);
    const sp3 = folderOf(j3.status!.savepoints!.at(-1)!.path);
    await waitFor(
      'orphans swept: only the referenced savepoint and the recorded one remain',
      async () => {
        const now = await folders(location, 'savepoints');
        return now.join(',') === [folderOf(kept), sp3].join(',') ? now : undefined;
      },
      30_000,
      250,
    );
    expect(await listKeys(`${keyPrefixOf(location)}/savepoints/${folderOf(kept)}`)).toContain(
      `${keyPrefixOf(location)}/savepoints/${folderOf(kept)}/_metadata.json`,
    );
    // The Event follows the deletions (and a sweep may split the orphans over two passes): wait for
    // every orphan to be named by some OrphanSavepointsDeleted Event.
    const swept = await waitFor(
      'OrphanSavepointsDeleted Events naming every orphan',
      async () => {
        const all = (await kube.list<EventItem>(Resources.Event, ns)).items
          .filter((e) => e.reason === 'OrphanSavepointsDeleted')
          .map((e) => e.message)
          .join('\n');
        return all.includes(folderOf(orphan)) && all.includes('sp-1') ? all : undefined;
      },
      30_000,
      250,
    );
    const events = (await kube.list<EventItem>(Resources.Event, ns)).items;
    expect(swept).not.toContain(folderOf(kept));
    expect(events.filter((e) => e.reason === 'SavepointSweepFailed')).toEqual([]);

    // Delete: the final savepoint is complete in the bucket; the referenced one is still there.
    await kube.delete(StreamJobs, ns, name);
    const final = await waitFor(
      'FinalSavepoint Event',
      async () =>
        (await kube.list<EventItem>(Resources.Event, ns)).items.find(
          (e) => e.reason === 'FinalSavepoint' && e.message.startsWith('final savepoint '),
        )?.message,
      90_000,
      250,
    );
    const finalPath = / at (s3:\/\/\S+?);/.exec(final)?.[1];
    expect(finalPath?.startsWith(`${location}/savepoints/sp-`)).toBe(true);
    expect(await listKeys(keyPrefixOf(finalPath!))).toContain(`${keyPrefixOf(finalPath!)}/_metadata.json`);
    expect(await folders(location, 'savepoints')).toContain(folderOf(kept));
  }, 240_000);

  it('Retain: dropped savepoints, pruned checkpoints and unrecorded savepoints all stay in the bucket', async () => {
    const h = harness();
    const { kube, ns, brokers, id } = h;
    const name = 'keep';
    const stateStorage = { ...(await s3StateStorage(kube, ns, 'life-keep')), retention: 'Retain' as const };
    const location = `s3://${stateStorage.s3.bucket}/${stateStorage.s3.prefix}/${ns}/${name}`;
    await h.createJob(name, '', {
      replicas: 1,
      stateStorage,
      checkpointing: { interval: '500ms', retained: 1 },
      savepoints: { historyLimit: 1, onDelete: false },
      graph: windowGraph({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-keep-${id}` }),
    });
    await runningWith(kube, ns, name, 1);
    // The first checkpoint the job reports: `retained: 1` would prune it, Retain must keep it. Not always chk-1: a
    // savepoint taken before the first periodic checkpoint completed takes id 1 (a loaded machine).
    const firstChk = await waitFor(
      'a first checkpoint',
      async () => (await getJob(kube, ns, name)).status?.lastCheckpoint?.id,
      60_000,
      100,
    );
    const j1 = await manualSavepoint(kube, ns, name, 1);
    const sp1 = folderOf(j1.status!.savepoints!.at(-1)!.path);
    const orphan = await unrecordedSavepoint(runtime, kube, j1);
    const j2 = await manualSavepoint(kube, ns, name, 2);
    const sp2 = folderOf(j2.status!.savepoints!.at(-1)!.path);
    expect(j2.status!.savepoints!.map((s) => folderOf(s.path))).toEqual([sp2]); // status still drops it
    // Checkpoints well past `retained: 1` completed since the first.
    await waitFor(
      'five checkpoints after the second savepoint',
      async () => ((await getJob(kube, ns, name)).status?.lastCheckpoint?.id ?? 0) > Number(sp2.slice(3)) + 5,
      60_000,
      250,
    );
    expect(await folders(location, 'savepoints')).toEqual([sp1, folderOf(orphan), sp2]);
    const chk = await folders(location, 'checkpoints');
    expect(chk.length).toBeGreaterThan(5);
    expect(chk).toContain(`chk-${firstChk}`);
    // The runtime refuses to delete under Retain, whoever asks.
    const { base, token } = await slot0(kube, j2);
    await expect(runtime.deleteSavepoint(base, token, sp1)).rejects.toThrow(/TRIB_STATE_RETAINED/);
    expect(await folders(location, 'savepoints')).toContain(sp1);
    await kube.delete(StreamJobs, ns, name);
  }, 180_000);
});

describe('the orphan sweep on its own cadence (real runtime, Kafka, S3 server)', () => {
  // Sweeps at most every 3 s instead of 10 min; the reconcile of a Running job keeps its own
  // default cadence, so the sweep rides on the ordinary periodic reconcile.
  const harness = harnessPerFile('sjs3c', { in: 2, out: 1 }, { cadence: { ...defaultCadence, orphanSweepMs: 3_000 } });

  it('a half-written folder below the newest recorded savepoint is swept while the job runs, with no savepoint taken', async () => {
    const h = harness();
    const { kube, ns, brokers, id } = h;
    const name = 'sweep';
    const stateStorage = await s3StateStorage(kube, ns, 'life-sweep');
    const location = `s3://${stateStorage.s3.bucket}/${stateStorage.s3.prefix}/${ns}/${name}`;
    await h.createJob(name, '', {
      replicas: 1,
      stateStorage,
      checkpointing: { interval: '1s', retained: 1 },
      savepoints: { historyLimit: 2, onDelete: false },
      graph: windowGraph({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-sweep-${id}` }),
    });
    await runningWith(kube, ns, name, 1);
    // Checkpoint 1 takes id 1 (ids are shared with savepoints): only then is sp-1 no savepoint's
    // name. A slow start (a container's) can reach Running before the first checkpoint.
    await waitFor(
      'checkpoint 1 in the bucket',
      async () => (await folders(location, 'checkpoints')).length > 0,
      60_000,
      250,
    );
    const j1 = await manualSavepoint(kube, ns, name, 1);
    const sp1 = folderOf(j1.status!.savepoints!.at(-1)!.path);
    expect(sp1).not.toBe('sp-1');
    // After the recorded savepoint's own sweep: only the periodic sweep can take this one
    // (sp-1 cannot be a savepoint: checkpoint 1 took that id).
    await putHalfWrittenFolder(location, 'sp-1');
    // The sweep runs every 3 s, so it may have taken sp-1 already; that it did is the event below.
    expect([`sp-1,${sp1}`, sp1]).toContain((await folders(location, 'savepoints')).join(','));
    await waitFor(
      'sp-1 swept on the cadence',
      async () => (await folders(location, 'savepoints')).join(',') === sp1,
      90_000,
      500,
    );
    // The event is written after the deletion: wait for it rather than read once.
    const swept = await waitFor(
      'the OrphanSavepointsDeleted event',
      async () =>
        (await kube.list<EventItem>(Resources.Event, ns)).items.find((e) => e.reason === 'OrphanSavepointsDeleted'),
      30_000,
      250,
    );
    expect(swept.message).toContain('sp-1');
    const j = await getJob(kube, ns, name);
    expect(j.status?.savepoints?.map((s) => folderOf(s.path))).toEqual([sp1]); // no savepoint taken meanwhile
    expect(j.status?.phase).toBe('Running');
    await kube.delete(StreamJobs, ns, name);
  }, 240_000);
});
