// Periodic savepoints (spec.savepoints.interval) with the REAL runtime, Kafka, the apiserver and
// the local cluster's S3 server (versitygw); the StreamJob controller runs in-process:
//   - failing: an object named `<location>/savepoints` in the bucket makes every savepoint write
//     fail on the real server (a key cannot be a folder's parent and an object at once there),
//     while checkpoints (under checkpoints/) go on. Each periodic savepoint fails, is retried and
//     reported (SavepointFailed Events, SavepointInProgress False, status.periodicSavepoints
//     failures/lastError); no pending operation is held while a retry waits; checkpoints keep
//     completing and the job is never restarted;
//   - once the object is gone: periodic savepoints are taken on schedule, listed in
//     status.savepoints (reason periodic), trimmed by historyLimit, and the trimmed ones' objects
//     leave the bucket;
//   - an operator killed right after it triggered one: the next operator records that same
//     savepoint (none lost, none taken twice);
//   - the schedule lives in status: an operator started after a long outage (status says the last
//     one was started two hours ago, the interval is one hour) takes one at once, and schedules
//     the next an interval after it.
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { listKeys, localS3, s3StateStorage } from '../../../../test/harness/s3-state-storage.ts';
import { StreamJobs } from './resource.ts';
import { harnessPerFile, runningWith } from './testing/kafka-job-harness.ts';
import { windowGraph } from './testing/window-job.ts';
import { untilStatus } from './testing/until-status.ts';

const keyPrefixOf = (uri: string) => uri.replace(/^s3:\/\/[^/]+\//, '');
const folderOf = (path: string) => path.split('/').filter(Boolean).at(-1)!;

/** Names of the sp-<n> folders in the bucket under `<location>/savepoints/`. */
async function savepointFolders(location: string): Promise<string[]> {
  const base = `${keyPrefixOf(location)}/savepoints/`;
  const names = new Set<string>();
  for (const k of await listKeys(`${keyPrefixOf(location)}/savepoints`)) names.add(k.slice(base.length).split('/')[0]!);
  return [...names].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
}

async function s3Object(key: string, op: 'put' | 'delete'): Promise<void> {
  const s3 = localS3();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(
      op === 'put'
        ? new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'not a folder' })
        : new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }),
    );
  } finally {
    client.destroy();
  }
}

const periodicIds = (j: StreamJob) => (j.status?.savepoints ?? []).filter((s) => s.reason === 'periodic');

describe('periodic savepoints (real runtime, Kafka, S3 server)', () => {
  const harness = harnessPerFile('sjper', { in: 2, out: 1 });

  it('taken on schedule, retried and reported when they fail without holding checkpoints, trimmed with their objects, kept across operator restarts', async () => {
    const h = harness();
    const { kube, ns, brokers, id } = h;
    const name = 'per';
    const stateStorage = await s3StateStorage(kube, ns, 'periodic');
    const location = `s3://${stateStorage.s3.bucket}/${stateStorage.s3.prefix}/${ns}/${name}`;
    const blocker = `${keyPrefixOf(location)}/savepoints`;
    await s3Object(blocker, 'put');
    await h.createJob(name, {
      replicas: 1,
      stateStorage,
      checkpointing: { interval: '500ms', retained: 2 },
      savepoints: { interval: '3s', historyLimit: 2, onDelete: false, timeout: '30s' },
      restartPolicy: { backoff: { initial: '1s', max: '2s' } },
      graph: windowGraph({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-per-${id}` }),
    });
    const first = await runningWith(kube, ns, name, 1);
    const deployment = first.status!.deployed!.id;

    // ---- failing: retried and reported; nothing held while a retry waits; checkpoints go on
    let heldWhileRetrying: string | undefined;
    const watchRetry = (j: StreamJob) => {
      if (j.status?.periodicSavepoints?.retryAt && j.status.pendingOperation)
        heldWhileRetrying ??= JSON.stringify(j.status.pendingOperation);
    };
    const failing = await untilStatus(kube, ns, name, 'a periodic savepoint failed', (j) => {
      watchRetry(j);
      return (j.status?.periodicSavepoints?.failures ?? 0) >= 1 && j.status?.lastCheckpoint !== undefined;
    });
    expect(failing.status!.periodicSavepoints!.lastError).toMatch(/^Savepoint(Failed|Rejected): /);
    const checkpointAtFirstFailure = failing.status!.lastCheckpoint!.id;
    const gaveUp = await untilStatus(kube, ns, name, 'three attempts failed (the round gave up)', (j) => {
      watchRetry(j);
      return (j.status?.periodicSavepoints?.failures ?? 0) >= 3;
    });
    expect(heldWhileRetrying).toBeUndefined();
    const sp = gaveUp.status!.conditions!.find((c) => c.type === 'SavepointInProgress');
    expect(sp?.status).toBe('False');
    expect(['SavepointFailed', 'SavepointRejected']).toContain(sp?.reason);
    const afterFailures = await untilStatus(
      kube,
      ns,
      name,
      'checkpoints completing while periodic savepoints fail',
      (j) => (j.status?.lastCheckpoint?.id ?? 0) > checkpointAtFirstFailure + 3,
    );
    expect(afterFailures.status!.deployed!.id).toBe(deployment); // never restarted
    expect(afterFailures.status!.restarts ?? 0).toBe(0);
    expect(periodicIds(afterFailures)).toEqual([]);
    const events = (await kube.list<{ metadata?: object; reason: string; message: string }>(Resources.Event, ns)).items;
    const failed = events.filter((e) => e.reason === 'SavepointFailed' && e.message.startsWith('periodic savepoint: '));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.some((e) => /retry in \d+s/.test(e.message))).toBe(true);

    // ---- recovered: taken on schedule, trimmed by historyLimit with their objects deleted
    await s3Object(blocker, 'delete');
    const seen = new Set<string>();
    const three = await untilStatus(kube, ns, name, 'three periodic savepoints recorded', (j) => {
      for (const s of periodicIds(j)) seen.add(folderOf(s.path));
      return seen.size >= 3;
    });
    expect(three.status!.savepoints!.length).toBeLessThanOrEqual(2);
    expect(three.status!.periodicSavepoints!.failures).toBe(0);
    expect(three.status!.periodicSavepoints!.lastError).toBeUndefined();
    const oldest = [...seen].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))[0]!;
    await waitFor(
      `${oldest} deleted from the bucket (beyond historyLimit 2)`,
      async () => !(await savepointFolders(location)).includes(oldest),
      30_000,
      250,
    );
    for (const s of three.status!.savepoints!)
      expect(await listKeys(keyPrefixOf(s.path))).toContain(`${keyPrefixOf(s.path)}/_metadata.json`);
    expect(three.status!.deployed!.id).toBe(deployment);

    // ---- an operator killed right after triggering one: the next one records that same savepoint
    await h.stopOperator();
    const { killed } = h.startOperator({ killAfter: { job: name, write: 'savepoint-triggered' } });
    const atKill = await killed;
    const triggered = atKill.status!.pendingOperation!;
    expect(triggered.trigger).toBe('periodic');
    h.startOperator();
    const recorded = await untilStatus(
      kube,
      ns,
      name,
      `the killed operator's savepoint ${triggered.savepointId} recorded`,
      (j) => periodicIds(j).some((s) => s.id === triggered.savepointId),
    );
    expect(new Set(recorded.status!.savepoints!.map((s) => s.id)).size).toBe(recorded.status!.savepoints!.length);

    // ---- the schedule is in status: after an "outage" longer than the interval, one is due at once
    await kube.patch(StreamJobs, ns, name, { spec: { savepoints: { interval: '1h' } } });
    const before = await untilStatus(
      kube,
      ns,
      name,
      'the hourly schedule in status, no savepoint pending',
      (j) =>
        !j.status?.pendingOperation &&
        j.status?.periodicSavepoints?.nextAt !== undefined &&
        Date.parse(j.status.periodicSavepoints.nextAt) - Date.parse(j.status.periodicSavepoints.lastTriggeredAt!) ===
          3_600_000,
    );
    await h.stopOperator();
    const longAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await kube.patch(
      StreamJobs,
      ns,
      name,
      { status: { periodicSavepoints: { lastTriggeredAt: longAgo, nextAt: null } } },
      { subresource: 'status' },
    );
    const known = new Set(periodicIds(before).map((s) => s.id));
    h.startOperator();
    const overdue = await untilStatus(
      kube,
      ns,
      name,
      'a periodic savepoint taken at once by the new operator (due since an hour ago)',
      (j) => periodicIds(j).some((s) => !known.has(s.id)) && !j.status?.pendingOperation,
      60_000,
    );
    const p = overdue.status!.periodicSavepoints!;
    expect(Date.parse(p.lastTriggeredAt!)).toBeGreaterThan(Date.parse(longAgo) + 3_600_000);
    expect(Date.parse(p.nextAt!) - Date.parse(p.lastTriggeredAt!)).toBe(3_600_000);
    await kube.delete(StreamJobs, ns, name);
  }, 300_000);
});
