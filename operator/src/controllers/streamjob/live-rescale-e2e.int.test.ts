// Live rescale of slot pods, the user's path, with the REAL runtime (tributary/runtime:* run by the
// node agent as processes), real Kafka, the real apiserver; the StreamJob controller in-process. A
// StreamJob with `rescale: {mode: live}` (Kafka → keyBy → rolling count → exactly-once Kafka sink,
// state on the local S3 server) runs at 2 replicas while a producer writes input; then
//   `kubectl scale --replicas=3` and `kubectl wait --for=condition=Ready`: the same deployment id,
//   slot 0's and 1's pods the same objects (uid), slot 2's pod created joining (TRIBUTARY_JOIN),
//   status.migration COMPLETED with its figures, Events LiveRescaleStarted/Completed and no savepoint;
//   `kubectl scale --replicas=1` and wait: slots 1 and 2 left (their pods Succeeded with the finished
//   message's `left: true`) and their pods were deleted, slot 0's pod the same object;
// then the input ends and Kafka's Java read_committed reader must find exactly the reference.
// Then an operator killed right after it recorded a step (fault-kill.ts), once in a scale out
// (slot 0 accepted: the awaited pod not made yet) and once in a scale in (COMPLETED: the pods
// that left not deleted yet): a new operator finishes the same migration, no pod replaced; then
// back to 2 replicas, slot 1 joining again under the name of its deleted pod.
// And an event-time job (Kafka with event times → keyBy → 1 s tumbling window → exactly-once Kafka):
// `kubectl scale` 2 → 3 → 1 live as well (a moved partition carries its watermark between slot pods:
// runtime/src/rescale/floors-across.ts), every window exact by Kafka's Java read_committed reader.
// And partitions added after a live scale in (3 → 2, the topic then grown from 4 to 12 while input keeps
// coming): every new partition is read by a slot pod that stays, exactly-once by the Java reader.
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { parseFinishedMessage } from '../../../../runtime/src/control/finished.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import type { Pod } from './objects/slot-pod.ts';
import { kubectl, kubectlAsync } from './testing/kubectl.ts';
import { getJob, harnessPerFile, runningWith } from './testing/kafka-job-harness.ts';
import { javaRollingExactlyOnce, rollingGraph, startRollingInput } from './testing/rolling-job.ts';
import { javaExactlyOnce, startWindowInput, windowGraph } from './testing/window-job.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import { growTopic } from '../../../../runtime/src/testing/kafka-topics.ts';

const PARTITIONS = 4;
const KEYS = 50;

interface PodSeen {
  uid: string;
  slot: number;
  phase: string;
  left: boolean;
  env: Record<string, string | undefined>;
}

describe('StreamJob live rescale (spec.rescale.mode live) with the real runtime', () => {
  const harness = harnessPerFile('sjlive', { in: PARTITIONS, out: 1, win: PARTITIONS, winout: 1, grow: 4, growout: 1 });
  const name = 'live';

  it('kubectl scale 2→3→1 moves the running job: no pod replaced, the slots that left deleted, exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const output = h.topics.out!;
    const input = await startRollingInput({
      kafka,
      input: h.topics.in!,
      output,
      partitions: PARTITIONS,
      readerGroup: `sjlive-reader-${id}`,
      keys: KEYS,
    });
    const seenOf = (p: Pod): PodSeen => {
      const env = Object.fromEntries(
        ((p.spec?.containers as { env?: { name: string; value?: string }[] }[])[0]?.env ?? []).map((e) => [
          e.name,
          e.value,
        ]),
      );
      const t = p.status?.containerStatuses?.[0]?.state?.terminated;
      return {
        uid: p.metadata!.uid!,
        slot: Number(p.metadata?.labels?.['tributary.dev/slot']),
        phase: p.status?.phase ?? '?',
        left: parseFinishedMessage(t?.message)?.left === true,
        env,
      };
    };
    const slotPods = async (): Promise<Map<string, PodSeen>> => {
      const items = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items;
      return new Map(items.map((p) => [p.metadata!.name!, seenOf(p)]));
    };
    // Every state of every slot pod, as the apiserver's watch delivers them (a left pod lives about a
    // reconcile before its deletion: a watch sees its Succeeded update however briefly it lasted).
    const history: PodSeen[] = [];
    const stopWatch = new AbortController();
    const watching = kube
      .watch<Pod>(
        `/api/v1/namespaces/${ns}/pods`,
        { labelSelector: `tributary.dev/job=${name}`, timeoutSeconds: 600 },
        (ev) => {
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')
            history.push(seenOf(ev.object as Pod));
        },
        stopWatch.signal,
      )
      .catch(() => undefined);
    const scaleAndWait = async (replicas: number) => {
      const r = kubectl(['scale', '-n', ns, `streamjob/${name}`, `--replicas=${replicas}`]);
      expect(r.status, r.stderr).toBe(0);
      const w = await kubectlAsync(['wait', '-n', ns, `streamjob/${name}`, '--for=condition=Ready', '--timeout=90s']);
      expect(w.code, w.stderr).toBe(0);
      return getJob(kube, ns, name);
    };
    const events = async () =>
      (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)).items.map(
        (e) => `${e.reason}: ${e.message}`,
      );

    try {
      await h.createJob(name, {
        rescale: { mode: 'live' },
        checkpointing: { interval: '500ms', retained: 2 },
        graph: rollingGraph({ brokers, input: h.topics.in!, output, groupId: `g-${id}` }),
      });
      const j2 = await runningWith(kube, ns, name, 2);
      const dep = j2.status!.deployed!.id;
      await new Promise<void>((ok, fail) => {
        const t0 = Date.now();
        const tick = () =>
          input.reader.arrivals.length > 0
            ? ok()
            : Date.now() - t0 > 60_000
              ? fail(new Error('no output within 60s'))
              : setTimeout(tick, 100);
        tick();
      });
      const before = await slotPods();
      const uidOf = (pods: Map<string, PodSeen>, slot: number) => [...pods.values()].find((p) => p.slot === slot)?.uid;

      // ---- scale out 2 → 3, live
      const j3: StreamJob = await scaleAndWait(3);
      expect(j3.status?.deployed).toMatchObject({ id: dep, parallelism: 3 });
      expect(j3.status?.pendingOperation).toBeUndefined();
      expect(j3.status?.savepoints ?? []).toEqual([]);
      const m3 = j3.status!.migration!;
      expect(m3).toMatchObject({ from: 2, to: 3, state: 'COMPLETED' });
      expect(m3.steps).toBeGreaterThan(0);
      expect(m3.stepsDone).toBe(m3.steps);
      expect(m3.keyGroupsMoved).toBeGreaterThan(0);
      expect(m3.finishedAt).toBeDefined();
      const after3 = await slotPods();
      expect(uidOf(after3, 0)).toBe(uidOf(before, 0));
      expect(uidOf(after3, 1)).toBe(uidOf(before, 1));
      const joined = [...after3.values()].find((p) => p.slot === 2)!;
      expect(joined.env).toMatchObject({
        TRIBUTARY_JOIN: '1',
        TRIBUTARY_PARALLELISM: '3',
        TRIBUTARY_DEPLOYMENT_ID: dep,
      });
      expect(j3.status?.rescales?.at(-1)).toMatchObject({ from: 2, to: 3, mode: 'live', deployment: dep });
      const ev3 = await events();
      expect(ev3.filter((e) => /^LiveRescale(Started|Completed)/.test(e))).toHaveLength(2);
      expect(
        ev3.filter((e) => /^(RescaleStarted|LiveRescaleAborted|LiveRescaleNotPossible|LiveRescaleFailed)/.test(e)),
      ).toEqual([]);

      // ---- scale in 3 → 1, live
      const j1 = await scaleAndWait(1);
      expect(j1.status?.deployed).toMatchObject({ id: dep, parallelism: 1 });
      expect(j1.status?.migration).toMatchObject({ from: 3, to: 1, state: 'COMPLETED' });
      const after1 = await slotPods();
      const live1 = [...after1.values()].filter((p) => p.phase !== 'Succeeded');
      expect(live1.map((p) => p.slot)).toEqual([0]);
      expect(uidOf(after1, 0)).toBe(uidOf(before, 0));
      await new Promise((r) => setTimeout(r, 2_000)); // the deletions the wait may have raced
      const gone = await slotPods();
      expect([...gone.values()].map((p) => p.slot)).toEqual([0]);
      for (const slot of [1, 2]) {
        const seen = history.filter((p) => p.slot === slot);
        // Every state seen of that slot's pods: running, then (before its deletion) Succeeded with left: true.
        expect(
          seen.some((p) => p.phase === 'Succeeded' && p.left),
          `slot ${slot} seen leaving`,
        ).toBe(true);
        expect(
          seen.filter((p) => p.phase === 'Failed'),
          `slot ${slot} never failed`,
        ).toEqual([]);
      }
      const ev1 = await events();
      expect(ev1.filter((e) => /^LiveRescaleCompleted/.test(e))).toHaveLength(2);
      expect(ev1.filter((e) => /^(SlotFailed|RescaleStarted|LiveRescaleFailed)/.test(e))).toEqual([]);

      // ---- the output: exactly the reference, as Kafka's Java read_committed reader sees it
      const { want, check } = await input.finish();
      expect(check).toMatchObject({ missing: [], unexpected: [], dups: 0 });
      const { javaCheck } = await javaRollingExactlyOnce(brokers, output, want);
      expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    } finally {
      stopWatch.abort();
      await watching;
    }
  }, 240_000);

  it('kubectl scale 3→2, then the topic grows 4 → 12: a slot pod reads every new partition, exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const job = 'grow';
    const input = await startRollingInput({
      kafka,
      input: h.topics.grow!,
      output: h.topics.growout!,
      partitions: 4,
      readerGroup: `sjlive-grow-reader-${id}`,
      keys: KEYS,
    });
    const graph = rollingGraph({ brokers, input: h.topics.grow!, output: h.topics.growout!, groupId: `g-grow-${id}` });
    Object.assign(graph.sources[0]!.kafka, { partitionDiscoveryInterval: '1s' });
    await h.createJob(job, {
      replicas: 3,
      rescale: { mode: 'live' },
      checkpointing: { interval: '500ms', retained: 2 },
      graph,
    });
    const dep = (await runningWith(kube, ns, job, 3)).status!.deployed!.id;
    await waitFor('output', async () => input.reader.arrivals.length > 0, 60_000, 100);
    const r = kubectl(['scale', '-n', ns, `streamjob/${job}`, '--replicas=2']);
    expect(r.status, r.stderr).toBe(0);
    const w = await kubectlAsync(['wait', '-n', ns, `streamjob/${job}`, '--for=condition=Ready', '--timeout=90s']);
    expect(w.code, w.stderr).toBe(0);
    const j2 = await getJob(kube, ns, job);
    expect(j2.status?.deployed).toMatchObject({ id: dep, parallelism: 2 });
    expect(j2.status?.migration).toMatchObject({ from: 3, to: 2, state: 'COMPLETED' });
    // At 3, partitions 2, 5, 8 and 11 of 12 would be the departed slot 2's: someone at 2 must read them.
    await growTopic(kafka, h.topics.grow!, 12);
    await input.spread(12);
    await new Promise((res) => setTimeout(res, 8_000)); // discovery (1 s) and records on every new partition
    const { want, check } = await input.finish();
    expect(check).toMatchObject({ missing: [], unexpected: [], dups: 0 });
    const { javaCheck } = await javaRollingExactlyOnce(brokers, h.topics.growout!, want);
    expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    const after = await getJob(kube, ns, job);
    expect(after.status?.deployed).toMatchObject({ id: dep, parallelism: 2 });
    const waiting = after.status?.conditions?.find((c) => c.type === 'WaitingForInput');
    expect(waiting?.reason).not.toBe('PartitionsUnread');
  }, 240_000);

  it('kubectl scale 2→3→1 moves an event-time window job live: same deployment, no savepoint, every window exact', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const job = 'windows';
    const [input, output] = [h.topics.win!, h.topics.winout!];
    const win = await startWindowInput({
      kafka,
      input,
      output,
      partitions: PARTITIONS,
      readerGroup: `w-${id}`,
      keys: 40,
    });
    await h.createJob(job, {
      rescale: { mode: 'live' },
      checkpointing: { interval: '500ms', retained: 2 },
      graph: windowGraph({ brokers, input, output, groupId: `g-win-${id}` }),
    });
    const dep = (await runningWith(kube, ns, job, 2)).status!.deployed!.id;
    await waitFor('first windows', () => win.reader.arrivals.length > 0, 60_000, 100);
    for (const [from, to] of [
      [2, 3],
      [3, 1],
    ] as const) {
      expect(kubectl(['scale', '-n', ns, `streamjob/${job}`, `--replicas=${to}`]).status).toBe(0);
      const w = await kubectlAsync(['wait', '-n', ns, `streamjob/${job}`, '--for=condition=Ready', '--timeout=90s']);
      expect(w.code, w.stderr).toBe(0);
      const j = await getJob(kube, ns, job);
      expect(j.status?.deployed).toMatchObject({ id: dep, parallelism: to });
      expect(j.status?.rescales?.at(-1)).toMatchObject({ from, to, mode: 'live', deployment: dep });
      expect(j.status?.migration).toMatchObject({ from, to, state: 'COMPLETED' });
      expect(j.status?.savepoints ?? []).toEqual([]);
      // Event time moves on at the new parallelism (a joining slot's watermark stuck where the hand-over
      // seeded it would hold every window back), and windows are open across the next scale.
      const last = Math.max(...win.reader.arrivals.map((a) => a.v.window_start));
      const later = () => win.reader.arrivals.some((a) => a.v.window_start >= last + 2000);
      await waitFor(`windows fire at ${to} slots`, later, 30_000, 100);
    }
    const { want, check } = await win.finish();
    expect(check).toMatchObject({ missing: [], unexpected: [], dups: 0 });
    const { javaCheck } = await javaExactlyOnce(brokers, output, want);
    expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    type Ev = { reason: string; involvedObject?: { name?: string }; metadata?: object };
    const events = (await kube.list<Ev>(Resources.Event, ns)).items.filter((e) => e.involvedObject?.name === job);
    expect(events.filter((e) => e.reason === 'LiveRescaleCompleted')).toHaveLength(2);
    expect(events.filter((e) => /^(LiveRescaleNotPossible|RescaleStarted|LiveRescaleFailed)$/.test(e.reason))).toEqual(
      [],
    );
  }, 180_000);

  it('an operator killed mid-way finishes the live rescale it recorded: the awaited pod made, the left ones deleted', async () => {
    const h = harness();
    const { kube, ns, brokers, id } = h;
    const job = 'kill';
    const uids = async () =>
      new Map(
        (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${job}` })).items
          .filter((p) => p.status?.phase !== 'Succeeded' && !p.metadata?.deletionTimestamp)
          .map((p) => [Number(p.metadata?.labels?.['tributary.dev/slot']), p.metadata!.uid!]),
      );
    await h.createJob(job, {
      rescale: { mode: 'live' },
      checkpointing: { interval: '500ms', retained: 2 },
      graph: rollingGraph({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-kill-${id}` }),
    });
    const j2 = await runningWith(kube, ns, job, 2);
    const dep = j2.status!.deployed!.id;
    const before = await uids();
    for (const [replicas, write] of [
      [3, 'live-requested'],
      [1, 'live-completed'],
    ] as const) {
      const gen = (await getJob(kube, ns, job)).metadata.generation!;
      await h.stopOperator();
      const armed = h.startOperator({ killAfter: { job, write, generation: gen + 1 } });
      await armed.ready;
      const r = kubectl(['scale', '-n', ns, `streamjob/${job}`, `--replicas=${replicas}`]);
      expect(r.status, r.stderr).toBe(0);
      const mid = await armed.killed;
      // Killed right after that write: the operation stands at the step it recorded.
      expect(mid.status?.pendingOperation).toMatchObject({
        kind: 'liveRescale',
        step: write === 'live-requested' ? 'migrating' : 'migrated',
      });
      await h.startOperator().ready;
      const w = await kubectlAsync(['wait', '-n', ns, `streamjob/${job}`, '--for=condition=Ready', '--timeout=90s']);
      expect(w.code, w.stderr).toBe(0);
      const done = await getJob(kube, ns, job);
      expect(done.status?.deployed).toMatchObject({ id: dep, parallelism: replicas });
      expect(done.status?.migration).toMatchObject({
        id: mid.status?.migration?.id,
        state: 'COMPLETED',
        to: replicas,
      });
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await uids();
    expect([...after.entries()]).toEqual([[0, before.get(0)]]);
    // Back to 2: slot 1 joins again under the pod name of the one that left (deleted above).
    expect(kubectl(['scale', '-n', ns, `streamjob/${job}`, '--replicas=2']).status).toBe(0);
    const w2 = await kubectlAsync(['wait', '-n', ns, `streamjob/${job}`, '--for=condition=Ready', '--timeout=90s']);
    expect(w2.code, w2.stderr).toBe(0);
    expect((await getJob(kube, ns, job)).status?.deployed).toMatchObject({ id: dep, parallelism: 2 });
    const rejoined = await uids();
    expect(rejoined.get(0)).toBe(before.get(0));
    expect(rejoined.get(1)).toBeDefined();
    expect(rejoined.get(1)).not.toBe(before.get(1));
    const events = (await kube.list<{ reason: string; metadata?: object }>(Resources.Event, ns)).items.map(
      (e) => e.reason,
    );
    expect(events.filter((e) => e === 'SlotFailed' || e === 'RescaleStarted' || e === 'LiveRescaleFailed')).toEqual([]);
  }, 180_000);
});
