// restartPolicy with the REAL runtime, Kafka and the apiserver (the StreamJob controller runs
// in-process): a record the graph's map fails on (`int("boom")`, onRecordError: fail) fails the
// slot on every replay. Each failure restarts all slots from the latest checkpoint after
// backoff.initial × 2^(n−1) (at most backoff.max); the failure after maxRestarts makes the job
// Failed with the runtime's error, and a later spec change deploys again with the count reset.
// Delays are checked as lower bounds against the write-ahead record (no wall-clock limit).
// With restartPolicy.window, a restart older than the window no longer counts: slot pods
// deleted once, then again after a checkpoint completed past the window, restart as restart 1
// both times; a failure within the window then counts and makes the job Failed.
// "Failed stays Failed" is what found a giving-up restart that left the new deployment's
// operation pending: advanced again, it re-created the slot pods it had just deleted.
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Resources, type KubeClient } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { PendingOperation, StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import { getJob, harnessPerFile, inputProducer, runningWith } from './testing/kafka-job-harness.ts';
import type { Pod } from './objects/slot-pod.ts';
import { DEPLOYMENT_LABEL, podSelector } from './objects/metadata.ts';

const chk = (path: string | undefined) => Number(/\/checkpoints\/chk-(\d+)$/.exec(path ?? '')?.[1] ?? NaN);
const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);

function graphOf(o: { brokers: string; input: string; output: string; groupId: string; fixed: boolean }) {
  return {
    onRecordError: 'fail',
    sources: [
      {
        name: 'in',
        kafka: {
          brokers: o.brokers,
          topic: o.input,
          groupId: o.groupId,
          startFrom: 'earliest',
          schema: { id: 'double', tag: 'string' },
        },
      },
    ],
    // Fixed: a tag that is not a number maps to -1 instead of failing the record.
    steps: [
      { name: 'parse', from: 'in', map: { id: 'id', n: o.fixed ? "tag == 'boom' ? -1 : int(tag)" : 'int(tag)' } },
    ],
    sinks: [{ name: 'out', from: 'parse', kafka: { brokers: o.brokers, topic: o.output, delivery: 'at-least-once' } }],
  };
}

/** Deletes the slot pods of the job's running deployment (a failure the operator must restart). */
async function killDeployment(kube: KubeClient, ns: string, job: StreamJob): Promise<void> {
  const pods = await kube.list<Pod>(Resources.Pod, ns, {
    labelSelector: podSelector(job.metadata.name!, job.status!.deployed!.id),
  });
  expect(pods.items.length).toBeGreaterThan(0);
  for (const p of pods.items) await kube.delete(Resources.Pod, ns, p.metadata!.name!);
}

describe('restartPolicy (real runtime, Kafka)', () => {
  const harness = harnessPerFile('sjrp', { in: 1, out: 1, calm: 1 });

  it('a slot failing on every replay restarts from the latest checkpoint with the documented backoff, is Failed after maxRestarts with the last error, and a spec change resets the count', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const name = 'poison';
    const input = h.topics.in!;
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    let seq = 0;
    const send = (tag: string, n = 1) =>
      producer.send({
        topic: input,
        messages: Array.from({ length: n }, () => ({ value: JSON.stringify({ id: seq++, tag }) })),
      });
    // Every restart operation as recorded (keyed by its target deployment), and when each pod
    // was first seen: status is polled and pods watched for the whole test.
    const restarts = new Map<string, PendingOperation & { restarts: number }>();
    const podSeen = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const j = await getJob(kube, ns, name).catch(() => undefined);
        const op = j?.status?.pendingOperation;
        // The newest view of each (restoreLatestSince is written once its state is known).
        if (op?.kind === 'restart' && op.targetDeploymentId)
          restarts.set(op.targetDeploymentId, { ...op, restarts: j!.status!.restarts ?? 0 });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const stopWatch = new AbortController();
    const watching = kube
      .watch<Pod>(
        `/api/v1/namespaces/${ns}/pods`,
        { labelSelector: `tributary.dev/job=${name}`, timeoutSeconds: 600 },
        (ev) => {
          const dep = (ev.object as Pod).metadata?.labels?.[DEPLOYMENT_LABEL];
          if (ev.type === 'ADDED' && dep && !podSeen.has(dep)) podSeen.set(dep, Date.now());
        },
        stopWatch.signal,
      )
      .catch(() => undefined);
    const backoff = { initial: '2s', max: '4s' };
    try {
      await send('1', 20);
      await h.createJob(name, {
        replicas: 1,
        upgradeMode: 'savepoint',
        checkpointing: { interval: '1s' },
        restartPolicy: { maxRestarts: 3, backoff },
        graph: graphOf({ brokers, input, output: h.topics.out!, groupId: `g-rp-${id}`, fixed: false }),
      });
      const first = await runningWith(kube, ns, name, 1);
      const before = await waitFor(
        'a checkpoint',
        async () => {
          const j = await getJob(kube, ns, name);
          return Date.parse(j.status?.lastCheckpoint?.completedAt ?? '0') >
            Date.parse(first.status!.deployed!.startedAt)
            ? j
            : undefined;
        },
        60_000,
        250,
      );
      await send('boom');
      const failed = await waitFor(
        'Failed',
        async () => {
          const j = await getJob(kube, ns, name);
          return j.status?.phase === 'Failed' ? j : undefined;
        },
        240_000,
        250,
      );
      // The count: exactly maxRestarts restarts, then Failed with the runtime's error.
      expect(failed.status?.restarts).toBe(3);
      expect(failed.status?.restartTimes).toHaveLength(3);
      const ops = [...restarts.values()].sort((a, b) => a.restarts - b.restarts);
      expect(ops.map((o) => o.restarts)).toEqual([1, 2, 3]);
      expect(failed.status?.lastError).toMatch(/gave up after 3 restarts/);
      expect(failed.status?.lastError).toMatch(/TRIB_RECORD_FAILED|parse/);
      expect(failed.status?.lastError).toContain('boom');
      expect(cond(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'MaxRestartsExceeded' });
      expect(cond(failed, 'Degraded')?.reason).toBe('MaxRestartsExceeded');
      await waitFor('no pods', async () => (await kube.list<Pod>(Resources.Pod, ns)).items.length === 0, 60_000, 250);

      // The delays: restart n waits initial × 2^(n−1) capped at max (2 s, 4 s, 4 s), recorded in
      // the operation and honoured: its pods appear no earlier than notBefore.
      const want = [2000, 4000, 4000];
      let prevStart = 0;
      for (const [i, op] of ops.entries()) {
        expect(Date.parse(op.notBefore!) - Date.parse(op.startedAt)).toBe(want[i]);
        expect(Date.parse(op.startedAt)).toBeGreaterThan(prevStart);
        prevStart = Date.parse(op.startedAt);
        const seen = podSeen.get(op.targetDeploymentId!);
        expect(seen, `pods of restart ${op.restarts}`).toBeDefined();
        expect(seen!).toBeGreaterThanOrEqual(Date.parse(op.notBefore!));
        // From the latest checkpoint: the newest one known, never older than the one before the bad record.
        expect(op.mode).toBe('restore');
        expect(op.restoreLatestSince).toBeDefined();
        expect(chk(op.restoreFrom)).toBeGreaterThanOrEqual(chk(before.status!.lastCheckpoint!.path));
      }
      // Failed stays Failed: no pods come back on their own.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await kube.list<Pod>(Resources.Pod, ns)).items).toHaveLength(0);
      const evs = (
        await kube.list<{ reason: string; message: string; involvedObject: { name: string }; metadata?: object }>(
          Resources.Event,
          ns,
        )
      ).items.filter((e) => e.involvedObject.name === name);
      for (const n of [1, 2, 3])
        expect(evs.some((e) => e.reason === 'SlotFailed' && e.message.includes(`restart ${n}/3`))).toBe(true);
      expect(evs.some((e) => e.reason === 'Failed' && e.message.includes('gave up after 3 restarts'))).toBe(true);

      // A spec change (the map fixed) deploys again from the checkpoint with the count reset.
      await kube.patch(StreamJobs, ns, name, {
        spec: { graph: graphOf({ brokers, input, output: h.topics.out!, groupId: `g-rp-${id}`, fixed: true }) },
      });
      const fixed = await runningWith(kube, ns, name, 1, failed.status?.deployed?.id, 120_000);
      expect(fixed.status?.restarts).toBe(0);
      expect(fixed.status?.restartTimes).toBeUndefined();
      expect(fixed.status?.deployed?.restoredFrom).toMatch(/\/checkpoints\/chk-\d+$/);
      expect(cond(fixed, 'Stalled')?.status).toBe('False');
      // ... so the next failure is restart 1 of 3 again, not Failed.
      restarts.clear();
      await send('bang');
      const again = await waitFor(
        'restart 1 after the spec change',
        () => [...restarts.values()].find((o) => o.restarts === 1),
        120_000,
        100,
      );
      expect(Date.parse(again.notBefore!) - Date.parse(again.startedAt)).toBe(2000);
      expect((await getJob(kube, ns, name)).status?.phase).not.toBe('Failed');
    } finally {
      polling = false;
      await poller;
      stopWatch.abort();
      await watching;
      await producer.disconnect();
    }
  }, 480_000);
  it('with a window, restarts older than it no longer count: a failure after a calm window is restart 1 again, one within it counts', async () => {
    const h = harness();
    const { kube, ns, brokers, id, topics } = h;
    const name = 'calm';
    const window = '30s';
    const windowMs = 30_000;
    // Its own input: the other test leaves records there that this graph fails on.
    await h.createJob(name, {
      replicas: 1,
      upgradeMode: 'savepoint',
      checkpointing: { interval: '1s' },
      restartPolicy: { maxRestarts: 1, window, backoff: { initial: '1s', max: '4s' } },
      graph: graphOf({ brokers, input: topics.calm!, output: topics.out!, groupId: `g-calm-${id}`, fixed: true }),
    });
    const first = await runningWith(kube, ns, name, 1);

    // Failure 1: restart 1/1, waiting backoff.initial.
    await killDeployment(kube, ns, first);
    const r1 = await runningWith(kube, ns, name, 1, first.status!.deployed!.id);
    expect(r1.status?.restarts).toBe(1);
    expect(r1.status?.restartTimes).toHaveLength(1);
    const t1 = Date.parse(r1.status!.restartTimes![0]!);

    // The window passes, as the job itself shows it: a checkpoint completes more than the
    // window after restart 1 (the operator's clock wrote both times).
    await waitFor(
      'a checkpoint completed past the window',
      async () => {
        const j = await getJob(kube, ns, name);
        return Date.parse(j.status?.lastCheckpoint?.completedAt ?? '0') > t1 + windowMs;
      },
      120_000,
      250,
    );

    // Failure 2, outside the window of restart 1: restart 1/1 again (not Failed), with the
    // initial backoff again, and restart 1 dropped from restartTimes.
    await killDeployment(kube, ns, r1);
    const second = await waitFor(
      'the second failure handled',
      async () => {
        const j = await getJob(kube, ns, name);
        if (j.status?.phase === 'Failed') return j;
        const op = j.status?.pendingOperation;
        return op?.kind === 'restart' && op.targetDeploymentId ? j : undefined;
      },
      120_000,
      100,
    );
    expect(second.status?.phase, second.status?.lastError).not.toBe('Failed');
    expect(second.status?.restarts).toBe(1);
    expect(second.status?.restartTimes).toHaveLength(1);
    const t2 = Date.parse(second.status!.restartTimes![0]!);
    expect(t2 - t1).toBeGreaterThan(windowMs);
    const op = second.status!.pendingOperation!;
    expect(Date.parse(op.notBefore!) - Date.parse(op.startedAt)).toBe(1000);
    const r2 = await runningWith(kube, ns, name, 1, r1.status!.deployed!.id);

    // Failure 3, within the window of restart 2: it counts, and 2 > maxRestarts makes the job Failed.
    await killDeployment(kube, ns, r2);
    const failed = await waitFor(
      'Failed',
      async () => {
        const j = await getJob(kube, ns, name);
        return j.status?.phase === 'Failed' || (j.status?.restarts ?? 0) !== 1 ? j : undefined;
      },
      120_000,
      250,
    );
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.lastError).toMatch(/gave up after 1 restarts within 30s$/);
    // Both restarts announced as restart 1 (identical Events are aggregated: their count adds up).
    const evs = (
      await kube.list<{
        reason: string;
        message: string;
        count?: number;
        involvedObject: { name: string };
        metadata?: object;
      }>(Resources.Event, ns)
    ).items.filter((e) => e.involvedObject.name === name && e.reason === 'SlotFailed');
    expect(evs.map((e) => e.message).every((m) => m.includes('restart 1/1 within 30s'))).toBe(true);
    expect(evs.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(2);
  }, 480_000);
});
