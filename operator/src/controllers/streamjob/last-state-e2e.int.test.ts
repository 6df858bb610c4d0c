// last-state upgrades and failed-slot restarts restore the NEWEST completed checkpoint, with
// the REAL runtime (node agent), real Kafka, the job's state on the local S3 server and the
// in-process StreamJob controller.
//
// The race this guards: the operator used to choose the checkpoint while the old pods still
// ran; they kept completing checkpoints (every 100 ms here) — and committing those
// checkpoints' Kafka transactions — until they were gone, so the new pods restored an older
// checkpoint and replayed committed output. Now the pods resolve the newest checkpoint of the
// job's lineage when they start (JobConfig.restoreLatest), after the old pods are gone.
//
// Checked for each operation: the checkpoint the new pods report having restored is the
// newest one completed before they started (read from the bucket; nothing is pruned,
// retained 100), and at the end the read_committed output equals the reference (no window
// lost, none twice). A crashed slot (SIGKILL) or an evicted slot pod (`kubectl delete pod`)
// restarts all slots as a new deployment, and a SlotFailed Event on the job says so.
import { killSlotProcess } from './testing/kill-slot.ts';
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import { kubectlAsync } from './testing/kubectl.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';
import {
  finishAndCompare,
  inputProducer,
  inputRecord,
  produceLoop,
  readOutput,
  runningWith,
  harnessPerFile,
  windowGraph,
  type WindowOut,
} from './testing/kafka-job-harness.ts';

const PARTITIONS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('last-state and restarts restore the newest checkpoint (real runtime)', () => {
  const harness = harnessPerFile('sjls', { in: PARTITIONS, out: 1 });
  const name = 'newest';

  it('last-state upgrade and a crashed slot: the pods restore the newest completed checkpoint; output exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, 40);
    const reader = await readOutput<WindowOut>(kafka, output, `sjls-reader-${id}`);
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const loop = produceLoop(producer, input, PARTITIONS, rec);

    await h.createJob(name, {
      upgradeMode: 'last-state',
      checkpointing: { interval: '100ms', retained: 100 },
      restartPolicy: { maxRestarts: 5, backoff: { initial: '1s', max: '2s' } },
      graph: windowGraph({ brokers, input, output, groupId: `g-${id}` }),
    });
    const first = await runningWith(kube, ns, name, 2);
    const completedStates = () => h.state(name).completed();
    await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);

    /** The pods of `j`'s deployment restored the newest state completed before they started. */
    const expectNewestRestored = async (what: string, j: StreamJob, prev: StreamJob): Promise<void> => {
      const started = Date.parse(j.status!.deployed!.startedAt);
      const lineage = Date.parse(prev.status!.deployed!.restoreLatestSince ?? prev.status!.deployed!.startedAt);
      const before = (await completedStates()).filter((s) => s.triggeredAt < started && s.triggeredAt >= lineage);
      const newest = before.at(-1);
      // The operator's own pick (the fallback) is in the PodsCreated Event: "… (else <path>)".
      const events = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns))
        .items;
      const created = events.find(
        (e) => e.reason === 'PodsCreated' && e.message.includes(j.status!.deployed!.id),
      )?.message;
      const fallback = /\(else ([^)]+)\)/.exec(created ?? '')?.[1];
      const behind = fallback
        ? before.filter((s) => s.id > (before.find((x) => x.path === fallback)?.id ?? Infinity)).length
        : undefined;
      console.log(
        `${what}: restored ${j.status?.deployed?.restoredFrom}; newest completed before the new pods started ${newest?.path}; the operator's pick ${fallback ?? '?'} (${behind ?? '?'} checkpoint(s) completed after it)`,
      );
      expect(newest).toBeDefined();
      expect(j.status?.deployed?.restoreLatestSince).toBe(
        prev.status!.deployed!.restoreLatestSince ?? prev.status!.deployed!.startedAt,
      );
      expect(j.status?.deployed?.restoredFrom).toBe(newest!.path);
    };

    // 1. last-state upgrade: no savepoint; the old pods checkpoint every 100 ms until they are gone.
    await sleep(2000);
    await kube.patch(StreamJobs, ns, name, { spec: { restartNonce: 1 } });
    const upgraded = await runningWith(kube, ns, name, 2, first.status!.deployed!.id);
    await expectNewestRestored('last-state upgrade', upgraded, first);

    // 2. a slot crashes (SIGKILL): all slots restart from the newest checkpoint.
    await waitFor(
      'a checkpoint of the upgraded deployment',
      async () =>
        (await completedStates()).some((s) => s.triggeredAt > Date.parse(upgraded.status!.deployed!.startedAt)),
      30_000,
      100,
    );
    await sleep(1500);
    const pods = (
      await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `${DEPLOYMENT_LABEL}=${upgraded.status!.deployed!.id}` })
    ).items;
    const slot1 = pods.find((p) => p.metadata?.labels?.['tributary.dev/slot'] === '1');
    killSlotProcess(slot1!.metadata!.name!);
    const restarted = await runningWith(kube, ns, name, 2, upgraded.status!.deployed!.id);
    expect(restarted.status?.restarts).toBe(1);
    expect(restarted.status?.deployed?.restoredFrom).toMatch(/\/checkpoints\/chk-\d+$/);
    await expectNewestRestored('restart after a crashed slot', restarted, upgraded);
    // The failure is told on the job: which slot, and that all slots restart from the latest checkpoint.
    const slotFailed = (
      await kube.list<{ reason: string; message: string; involvedObject: { name: string }; metadata?: object }>(
        Resources.Event,
        ns,
      )
    ).items.filter((e) => e.involvedObject.name === name && e.reason === 'SlotFailed');
    expect(slotFailed.map((e) => e.message)).toEqual([
      expect.stringContaining('restarting all slots from the latest checkpoint (restart 1/5'),
    ]);

    // 3. a slot pod evicted (`kubectl delete pod`: the node agent sends SIGTERM, checkpoints every
    // 100 ms run on): the same restart from the newest checkpoint.
    await sleep(1500);
    const evicted = (
      await kube.list<Pod>(Resources.Pod, ns, {
        labelSelector: `${DEPLOYMENT_LABEL}=${restarted.status!.deployed!.id}`,
      })
    ).items.find((p) => p.metadata?.labels?.['tributary.dev/slot'] === '0');
    const del = await kubectlAsync(['delete', 'pod', '-n', ns, evicted!.metadata!.name!, '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
    const afterEviction = await runningWith(kube, ns, name, 2, restarted.status!.deployed!.id);
    expect(afterEviction.status?.restarts).toBe(2);
    await expectNewestRestored('restart after an evicted slot pod', afterEviction, restarted);

    // ---- exactly-once over both operations
    await sleep(1500);
    const { n, want, got, check } = await finishAndCompare({
      kafka,
      loop,
      producer,
      topic: input,
      partitions: PARTITIONS,
      rec,
      reader,
    });
    console.log(
      `${n} input records, ${want.length} reference windows; output ${got.length} (duplicates ${check.dups})`,
    );
    expect(check).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
  }, 300_000);
});
