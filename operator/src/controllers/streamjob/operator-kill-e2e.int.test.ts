// The operator killed for real — SIGKILL of its own OS process — at each step of a rescale's
// and of an upgrade's write-ahead log, with the REAL runtime (node agent running
// tributary/runtime:*), real Kafka, the real apiserver and the job's state on the local S3
// server (no volume shared by the slot pods). The operator is `node operator/src/main.ts` (the
// harness's `operator: 'process'`), the slots really stop with a savepoint, exit, and restore.
// (No stand-in-runtime copy of this test exists: a kill needs no injected runtime fault.)
//
// One job (Kafka source → keyBy → 1 s tumbling window → count/sum → exactly-once Kafka sink)
// goes through a savepoint-mode rescale (2↔3) and then a savepoint-mode upgrade (a graph change:
// an always-true filter added or removed) per kill point, while a producer keeps writing input.
// For each operation the operator process runs with TRIBUTARY_FAULT_KILL_AFTER_WRITE (at the
// generation that operation's spec change makes): it SIGKILLs itself right after that status
// write (intent, savepoint-triggered, state-ready, old-pods-gone, starting, waiting — the first
// write after the new pods were created — and done, the final status); then a fresh operator
// process (new caches, nothing in memory but status) must finish the SAME operation (that
// process is the one armed for the next operation). Checked:
//   - the process died of SIGKILL right after that write: the job in the API is the object it
//     wrote (same resourceVersion), at the pending step that write records;
//   - the operation completes as the deployment the intent named, with the replicas and spec
//     it asked for;
//   - exactly one savepoint per operation (a status watch: no write of the operation names a
//     second savepoint id; the status history and the savepoint folders in the bucket, per
//     operation and in total), and the new pods report having restored it;
//   - a pod watch, checked at every event: pods of one deployment at a time (the old ones are
//     gone before the new ones are created), never more than that deployment's replicas, each
//     slot pod created once, no pods of a deployment the operator did not record;
//   - at the end the read_committed output equals the reference (no window lost, none twice).
import { describe, expect, it } from 'vitest';
import { ErrorCodes, Informer, OperatorError, Resources, type KubeClient } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { OperationStep, StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import { stepsAfter } from './operation/advance.ts';
import type { StatusWrite } from './status-writes.ts';
import type { Pod } from './objects/slot-pod.ts';
import { StreamJobs } from './resource.ts';
import {
  getJob,
  harnessPerFile,
  javaExactlyOnce,
  runningWith,
  scaleJob,
  startWindowInput,
  windowGraph,
} from './testing/kafka-job-harness.ts';

const PARTITIONS = 4;

/**
 * Every status write of a savepoint-mode rescale or upgrade, in order: `waiting` is the first
 * write once the new pods exist, `done` removes the operation. The pending step each leaves is
 * the code's own table (operation/advance.ts, STEPS).
 */
const KILL_POINTS = [
  'intent',
  'savepoint-triggered',
  'state-ready',
  'old-pods-gone',
  'starting',
  'waiting',
  'done',
] as const satisfies readonly StatusWrite[];

/** `pendingOperation.step` right after `write` (undefined: the operation ended), by STEPS. */
function pendingAfter(write: StatusWrite): OperationStep | undefined {
  const after = stepsAfter(write);
  if (after.length !== 1)
    throw new OperatorError(ErrorCodes.TEST_HARNESS, `${write} leaves one of ${after.join(', ')}: not a kill point`);
  return after[0];
}

interface PodWatch {
  /** Deployment → uids of its pods ever seen (a slot pod created twice would add a uid). */
  uids: Map<string, Set<string>>;
  /** Deployment → most pods of it that existed at once. */
  most: Map<string, number>;
  /** Observed states in which pods of more than one deployment existed. */
  mixed: string[];
  /** Rejects at the first such state. */
  mixedNow: Promise<never>;
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
  let fail: (e: Error) => void = () => undefined;
  const mixedNow = new Promise<never>((_, reject) => (fail = reject));
  mixedNow.catch(() => undefined); // raced against each wait; never unhandled before
  const w: PodWatch = { uids: new Map(), most: new Map(), mixed: [], mixedNow, events: 0, stop: () => inf.stop() };
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
    if (byDep.size > 1) {
      w.mixed.push(
        live
          .map((p) => p.metadata?.name)
          .sort()
          .join(', '),
      );
      fail(new Error(`pods of two deployments at once: ${w.mixed.at(-1)}`));
    }
  };
  inf.addHandler({ onAdd: check, onUpdate: check, onDelete: check });
  inf.start();
  await inf.waitForSync();
  return w;
}

interface SavepointWatch {
  /** Target deployment → the savepoint ids its operation's status named, in the order written. */
  ids: Map<string, string[]>;
  /** Rejects as soon as the status of one operation names a second savepoint. */
  duplicate: Promise<never>;
  stop(): Promise<void>;
}

/**
 * Watches the job's status writes: an operation that triggers a second savepoint (a new
 * operator that does not trust the id in status) shows at that write, not only at the end.
 */
async function watchSavepoints(kube: KubeClient, ns: string, job: string): Promise<SavepointWatch> {
  const inf = new Informer<StreamJob>({ client: kube, resource: StreamJobs, namespace: ns });
  let fail: (e: Error) => void = () => undefined;
  const duplicate = new Promise<never>((_, reject) => (fail = reject));
  duplicate.catch(() => undefined); // raced against each wait; never unhandled before
  const w: SavepointWatch = { ids: new Map(), duplicate, stop: () => inf.stop() };
  const seen = (j: StreamJob) => {
    const op = j.status?.pendingOperation;
    if (j.metadata.name !== job || !op?.savepointId || !op.targetDeploymentId) return;
    const ids = w.ids.get(op.targetDeploymentId) ?? [];
    if (!ids.includes(op.savepointId)) ids.push(op.savepointId);
    w.ids.set(op.targetDeploymentId, ids);
    if (ids.length > 1)
      fail(new Error(`operation ${op.kind} → ${op.targetDeploymentId} triggered savepoints ${ids.join(', ')}`));
  };
  inf.addHandler({ onAdd: seen, onUpdate: (_, j) => seen(j) });
  inf.start();
  await inf.waitForSync();
  return w;
}

/** `p`, or a rejection naming `what` after `ms` (a guard against a hang, not a measure). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000}s`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

const hasFilter = (spec: StreamJobSpec) => JSON.stringify(spec.graph).includes('"positive"');

describe('operator process SIGKILLed at each step of a rescale and of an upgrade (real runtime)', () => {
  const harness = harnessPerFile('sjkill', { in: PARTITIONS, out: 1 }, { operator: 'process' });
  const name = 'killed';

  it('a new operator process finishes each interrupted operation: one savepoint each, restored, one deployment at a time, exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const graph = (filter: boolean) =>
      windowGraph({ brokers, input, output: h.topics.out!, groupId: `g-${id}`, filter });
    // The savepoints in the bucket (h.state knows the job once it is created).
    const spFolders = () => h.state(name).savepointNames();
    const pods = await watchPods(kube, ns, name);
    const savepoints = await watchSavepoints(kube, ns, name);
    const { reader, loop, finish } = await startWindowInput({
      kafka,
      input,
      output: h.topics.out!,
      partitions: PARTITIONS,
      readerGroup: `sjkill-reader-${id}`,
      keys: 50,
    });

    try {
      await h.createJob(name, {
        upgradeMode: 'savepoint',
        checkpointing: { interval: '500ms', retained: 2 },
        // history long enough to hold every savepoint of this test (none dropped, none deleted)
        savepoints: { historyLimit: 20, onDelete: false, timeout: '60s' },
        graph: graph(false),
      });
      let prev = await runningWith(kube, ns, name, 2);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      const spAtStart = await spFolders();
      const deployments = [prev.status!.deployed!.id];
      const replicasOf = new Map([[prev.status!.deployed!.id, 2]]);
      const lines: string[] = [];
      let replicas = 2;
      let filter = false;

      // Per kill point a rescale, then an upgrade.
      const ops = KILL_POINTS.flatMap((write) => [
        { kind: 'rescale' as const, write },
        { kind: 'upgrade' as const, write },
      ]);
      // The operator process that dies at ops[i]: armed for the generation that operation's
      // spec change makes. The one that finishes ops[i] is armed for ops[i + 1] (nothing is
      // written at that generation before the test changes the spec again).
      const armed = (i: number, generation: number) => {
        const next = ops[i];
        return h.startOperator(next ? { killAfter: { job: name, write: next.write, generation } } : {});
      };
      await h.stopOperator();
      let operator = armed(0, prev.metadata.generation! + 1);
      await operator.ready;

      for (const [i, { kind, write }] of ops.entries()) {
        if (kind === 'rescale') replicas = replicas === 2 ? 3 : 2;
        else filter = !filter;
        const prevDep = prev.status!.deployed!;
        const spBefore = await spFolders();
        const historyBefore = prev.status?.savepoints ?? [];
        const t0 = Date.now();
        if (kind === 'rescale') await scaleJob(kube, ns, name, replicas);
        else await kube.patch(StreamJobs, ns, name, { spec: { graph: graph(filter) } });
        const mid = await within(operator.killed, 90_000, `${kind}: operator killed after writing ${write}`);
        const tKill = Date.now();
        const op = mid.status?.pendingOperation;
        // Killed right there: the write-ahead log stands at what that write recorded.
        expect({ write, pending: op?.step, kind: op?.kind ?? kind }).toEqual({
          write,
          pending: pendingAfter(write),
          kind,
        });
        const target = op?.targetDeploymentId ?? mid.status!.deployed!.id;
        expect(target).not.toBe(prevDep.id);
        if (write === 'waiting') {
          // The new pods were created before the write that killed it.
          const made = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `${DEPLOYMENT_LABEL}=${target}` }))
            .items;
          expect(made).toHaveLength(replicas);
        }
        // A fresh operator process: informers list again, nothing in memory but what status says.
        operator = armed(i + 1, mid.metadata.generation! + 1);
        await operator.ready;
        const done = await Promise.race([
          runningWith(kube, ns, name, replicas, prevDep.id),
          savepoints.duplicate,
          pods.mixedNow,
        ]);
        const t1 = Date.now();
        const dep = done.status!.deployed!;
        // The operation the intent recorded was finished, not a new one started.
        expect(dep.id).toBe(target);
        expect(dep.parallelism).toBe(replicas);
        expect(hasFilter(JSON.parse(dep.spec ?? '{}') as StreamJobSpec)).toBe(filter);
        // Exactly one savepoint for the interrupted operation, and the new pods restored it.
        const history = done.status?.savepoints ?? [];
        expect(history.slice(0, -1)).toEqual(historyBefore);
        expect(history).toHaveLength(historyBefore.length + 1);
        const sp = history.at(-1)!;
        expect(sp.reason).toBe(kind);
        if (op?.savepointId) expect(sp.id).toBe(op.savepointId);
        if (op?.restoreFrom) expect(sp.path).toBe(op.restoreFrom);
        expect(dep.restoredFrom).toBe(sp.path);
        expect(savepoints.ids.get(target)).toEqual([sp.id]);
        expect(sp.path.startsWith(`${h.state(name).location}/savepoints/`)).toBe(true);
        expect(await spFolders()).toEqual([...spBefore, sp.path.split('/').at(-1)!].sort());
        deployments.push(dep.id);
        replicasOf.set(dep.id, replicas);
        const line = `${kind} ${prevDep.parallelism}→${replicas}${kind === 'upgrade' ? ` (filter ${filter ? 'added' : 'removed'})` : ''}, SIGKILL after ${write}: ${((tKill - t0) / 1000).toFixed(2)}s after the request (${mid.status?.phase}); the next operator process finished it ${((t1 - tKill) / 1000).toFixed(2)}s later, restored ${sp.path}`;
        lines.push(line);
        console.log(line);
        prev = done;
      }

      const { n, want, got, check } = await finish();
      // The verdict is Kafka's own Java consumer's (read_committed, partitions assigned, no group): the live
      // kafkajs reader above, a group member for the whole test (a rejoin re-delivers what it had not
      // committed), is kept for its arrival times. When the two disagree, the difference is the reader's, and
      // both figures are printed.
      const { java, javaCheck } = await javaExactlyOnce(brokers, h.topics.out!, want);
      console.log(
        `${n} input records, ${want.length} reference windows; read_committed (Java) ${java.length} (missing ${javaCheck.missing.length}, duplicates ${javaCheck.dups}); kafkajs reader ${got.length} (missing ${check.missing.length}, duplicates ${check.dups}); ${pods.events} pod events watched\n${lines.join('\n')}`,
      );
      expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
      expect(java.sort()).toEqual(want);
      if (check.dups !== javaCheck.dups || check.missing.length !== javaCheck.missing.length)
        console.warn(
          `the live kafkajs reader disagrees with the Java consumer: ${JSON.stringify({ check, javaCheck })}`,
        );

      // One savepoint per operation in all, none between them (a fresh operator that found
      // nothing to finish started nothing).
      const last = await getJob(kube, ns, name);
      expect(last.status?.savepoints).toHaveLength(ops.length);
      expect(await spFolders()).toHaveLength(spAtStart.length + ops.length);
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
      expect(last.status?.deployed?.id).toBe(deployments.at(-1));
    } finally {
      await loop.stop().catch(() => undefined);
      await reader.close().catch(() => undefined);
      await pods.stop();
      await savepoints.stop();
    }
  }, 600_000);
});
