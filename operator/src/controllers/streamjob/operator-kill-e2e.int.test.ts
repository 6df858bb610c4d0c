// Issue 5: the operator killed at each step of an upgrade's write-ahead log, with the REAL
// runtime (node agent running tributary/runtime:*), real Kafka, the real apiserver and the
// job's state on the local S3 server (no volume shared by the slot pods). The
// stand-in-runtime version of this is in controller.int.test.ts; here the slots really stop
// with a savepoint, exit, and restore.
//
// One job (Kafka source → keyBy → 1 s tumbling window → count/sum → exactly-once Kafka sink)
// is rescaled 2→3→2→3→2→3 in savepoint mode while a producer keeps writing input. For each
// rescale an operator is started that dies right after writing one step of the pending
// operation (intent, savepoint-triggered, state-ready, old-pods-gone, starting: its Manager
// is stopped and the reconcile ends right after that status write, as if the process died),
// then a fresh operator (new caches, nothing in memory) is started and must finish the SAME
// operation. Checked:
//   - the upgrade completes with the new replica count, as the deployment the intent named;
//   - exactly one savepoint per rescale (status history and the savepoints in the bucket), and the
//     new pods report having restored it;
//   - a pod watch, checked at every event: pods of one deployment at a time (the old ones are
//     gone before the new ones are created), never more than that deployment's replicas, each
//     slot pod created once, no pods of a deployment the operator did not record;
//   - at the end the read_committed output equals the reference (no window lost, none twice).
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Informer, Resources, type KubeClient } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';
import {
  finishAndCompare,
  getJob,
  harnessPerFile,
  inputRecord,
  produceLoop,
  readOutput,
  runningWith,
  scaleJob,
  windowGraph,
  type WindowOut,
} from './testing/kafka-job-harness.ts';

const PARTITIONS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every write of a rescale's pending operation up to the new pods (reconcile.ts, advance()). */
const STEPS = ['intent', 'savepoint-triggered', 'state-ready', 'old-pods-gone', 'starting'] as const;

interface PodWatch {
  /** Deployment → uids of its pods ever seen (a slot pod created twice would add a uid). */
  uids: Map<string, Set<string>>;
  /** Deployment → most pods of it that existed at once. */
  most: Map<string, number>;
  /** Observed states in which pods of more than one deployment existed. */
  mixed: string[];
  events: number;
  stop(): Promise<void>;
}

/**
 * Watches the job's pods; after every watch event (the cache is one state of the apiserver,
 * in resourceVersion order) it records which deployments have pods (terminating ones count:
 * the operator creates new pods only once the old ones are gone from the API).
 */
async function watchPods(kube: KubeClient, ns: string, job: string): Promise<PodWatch> {
  const inf = new Informer<Pod>({
    client: kube,
    resource: Resources.Pod,
    namespace: ns,
    labelSelector: `tributary.dev/job=${job}`,
  });
  const w: PodWatch = { uids: new Map(), most: new Map(), mixed: [], events: 0, stop: () => inf.stop() };
  const check = () => {
    w.events++;
    const live = inf.list(ns);
    const byDep = new Map<string, number>();
    for (const p of live) {
      const dep = p.metadata?.labels?.[DEPLOYMENT_LABEL] ?? '?';
      byDep.set(dep, (byDep.get(dep) ?? 0) + 1);
      const uids = w.uids.get(dep) ?? new Set<string>();
      uids.add(p.metadata?.uid ?? '?');
      w.uids.set(dep, uids);
    }
    for (const [dep, n] of byDep) w.most.set(dep, Math.max(n, w.most.get(dep) ?? 0));
    if (byDep.size > 1)
      w.mixed.push(
        live
          .map((p) => p.metadata?.name)
          .sort()
          .join(', '),
      );
  };
  inf.addHandler({ onAdd: check, onUpdate: check, onDelete: check });
  inf.start();
  await inf.waitForSync();
  return w;
}

describe('operator killed at each step of an upgrade (real runtime)', () => {
  const harness = harnessPerFile('sjkill', { in: PARTITIONS, out: 1 });
  const name = 'killed';

  it('a new operator finishes each interrupted rescale: one savepoint each, restored, no duplicate pods, exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    // The savepoints in the bucket (h.state knows the job once it is created).
    const spFolders = () => h.state(name).savepointNames();
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, 50);
    const pods = await watchPods(kube, ns, name);
    const reader = await readOutput<WindowOut>(kafka, h.topics.out!, `sjkill-reader-${id}`);
    const producer: Producer = kafka.producer();
    await producer.connect();
    const loop = produceLoop(producer, input, PARTITIONS, rec);

    try {
      await h.createJob(name, {
        upgradeMode: 'savepoint',
        checkpointing: { interval: '500ms', retained: 2 },
        // history long enough to hold every savepoint of this test (none dropped, none deleted)
        savepoints: { historyLimit: 20, onDelete: false, timeout: '60s' },
        graph: windowGraph({ brokers, input, output: h.topics.out!, groupId: `g-${id}` }),
      });
      let prev = await runningWith(kube, ns, name, 2);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      const deployments = [prev.status!.deployed!.id];
      const replicasOf = new Map([[prev.status!.deployed!.id, 2]]);
      const lines: string[] = [];

      for (const [i, step] of STEPS.entries()) {
        const replicas = i % 2 === 0 ? 3 : 2;
        const spBefore = await spFolders();
        const historyBefore = prev.status?.savepoints ?? [];
        // The next operator dies right after writing `step` of this job's operation.
        await h.stopOperator();
        const { killed } = h.startOperator({ killAfter: { job: name, step } });
        let mid: StreamJob | undefined;
        let killError: unknown;
        void killed.then(
          (j) => (mid = j),
          (e: unknown) => (killError = e),
        );
        const t0 = Date.now();
        await scaleJob(kube, ns, name, replicas);
        await waitFor(
          `operator killed after writing ${step}`,
          () => {
            if (killError) throw killError;
            return mid;
          },
          60_000,
          50,
        );
        const op = mid!.status?.pendingOperation;
        expect(op?.kind).toBe('rescale');
        const tKill = Date.now();
        // A fresh operator: informers list again, nothing in memory but what status says.
        h.startOperator();
        const done = await runningWith(kube, ns, name, replicas, prev.status!.deployed!.id);
        const t1 = Date.now();
        const dep = done.status!.deployed!;
        // The operation the intent recorded was finished, not a new one started.
        expect(dep.id).toBe(op?.targetDeploymentId);
        expect(dep.parallelism).toBe(replicas);
        // Exactly one savepoint for the interrupted rescale, and the new pods restored it.
        const history = done.status?.savepoints ?? [];
        expect(history.slice(0, -1)).toEqual(historyBefore);
        const sp = history.at(-1)!;
        expect(history).toHaveLength(historyBefore.length + 1);
        if (op?.savepointId) expect(sp.id).toBe(op.savepointId);
        if (op?.restoreFrom) expect(sp.path).toBe(op.restoreFrom);
        expect(dep.restoredFrom).toBe(sp.path);
        expect(sp.path.startsWith(`${h.state(name).location}/savepoints/`)).toBe(true);
        expect(await spFolders()).toEqual([...spBefore, sp.path.split('/').at(-1)!].sort());
        deployments.push(dep.id);
        replicasOf.set(dep.id, replicas);
        const line = `killed after ${step}: ${((tKill - t0) / 1000).toFixed(2)}s after the scale request (${mid!.status?.phase}); the next operator finished ${prev.status!.deployed!.parallelism}→${replicas} ${((t1 - tKill) / 1000).toFixed(2)}s later, restored ${sp.path}`;
        lines.push(line);
        console.log(line);
        prev = done;
        await sleep(1000);
      }

      const { n, want, got, check } = await finishAndCompare({
        loop,
        producer,
        topic: input,
        partitions: PARTITIONS,
        rec,
        reader,
      });
      console.log(
        `${n} input records, ${want.length} reference windows; output ${got.length} (missing ${check.missing.length}, duplicates ${check.dups}); ${pods.events} pod events watched\n${lines.join('\n')}`,
      );
      expect(check).toEqual({ missing: [], dups: 0, count: want.length });
      expect(got).toEqual(want);

      // Pods: one deployment at a time, each slot pod created once, no unrecorded deployment.
      expect(pods.mixed).toEqual([]);
      expect([...pods.uids.keys()].sort()).toEqual([...deployments].sort());
      for (const dep of deployments) {
        expect({ dep, pods: pods.uids.get(dep)?.size, most: pods.most.get(dep) }).toEqual({
          dep,
          pods: replicasOf.get(dep),
          most: replicasOf.get(dep),
        });
      }
      expect((await getJob(kube, ns, name)).status?.deployed?.id).toBe(deployments.at(-1));
    } finally {
      await loop.stop().catch(() => undefined);
      await reader.close().catch(() => undefined);
      await pods.stop();
    }
  }, 300_000);
});
