// Issue 5's savepoint lifecycle with the REAL runtime (tributary/runtime:* → node
// runtime/src/main.ts), real Kafka, the real apiserver and the node agent; the StreamJob
// controller runs in-process. One job (Kafka source with event times → keyBy → 1 s tumbling
// window → count/sum → exactly-once Kafka sink, state on the local S3 server: the slot pods
// share no volume) goes through, while a producer keeps writing input:
//   scale 2 → 3 (`kubectl scale`) → 1 (the scale subresource; savepoint mode: each a
//   savepoint of reason rescale, the one slot 0 reports having restored) → graph change (a
//   filter inserted, savepoint upgrade) → last-state upgrade (restartNonce) → suspend (resumeFrom
//   the newest savepoint) → resume
// then input stops, one far-future record per partition closes every real window, and the
// read_committed output must equal the reference computed here from the produced records
// (same multiset: no loss, no duplicate); the savepoints beyond historyLimit are gone from the
// bucket. Finally delete with savepoints.onDelete: a new savepoint is committed in the bucket,
// the FinalSavepoint Event names it, and the pods are garbage-collected.
//
// Downtime per operation is printed two ways: the operator's (stop-with-savepoint trigger →
// savepoint done → new deployment RUNNING) and the output gap (wall time between the last
// committed window before the operation and the first after it, seen by a read_committed
// consumer; an upper bound: output is committed per checkpoint and windows fire per second).
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import type { Pod } from './objects/slot-pod.ts';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import { RuntimeClient } from '../../runtime-client/client.ts';
import { kubectl } from './testing/kubectl.ts';
import {
  finishAndCompare,
  inputProducer,
  getJob,
  inputRecord,
  produceLoop,
  readOutput,
  runningEvent,
  runningWith,
  scaleJob,
  harnessPerFile,
  windowGraph,
  type WindowOut,
} from './testing/kafka-job-harness.ts';

const PARTITIONS = 4;
const KEYS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StreamJob savepoint lifecycle with the real runtime', () => {
  const harness = harnessPerFile('sjsp', { in: PARTITIONS, out: 1 });
  const name = 'life';

  it('rescale 2→3→1, graph change, last-state, suspend/resume: exactly-once output; delete takes a final savepoint', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    // Record i: partition i % 4, event time base + 2i ms (each partition in order: nothing late).
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, KEYS);
    const graph = (filter: boolean) => windowGraph({ brokers, input, output, groupId: `g-${id}`, filter });

    // ---- output observer (read_committed), arrival wall times kept for the gap measure
    const reader = await readOutput<WindowOut>(kafka, output, `sjsp-reader-${id}`);
    const arrivals = reader.arrivals;

    // ---- producer loop: 500 records/s, event time advancing 1 s per second
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const loop = produceLoop(producer, input, PARTITIONS, rec);

    const get = () => getJob(kube, ns, name);
    const waitRunning = (replicas: number, depNot?: string) => runningWith(kube, ns, name, replicas, depNot);
    const downtimes: string[] = [];
    const measure = async (what: string, act: () => Promise<unknown>, replicas: number) => {
      const before = await get();
      const dep = before.status?.deployed?.id;
      const t0 = Date.now();
      const seen0 = arrivals.length;
      await act();
      const j = await waitRunning(replicas, dep);
      const t1 = Date.now();
      // output gap: last arrival before t0 → first arrival after the new deployment ran
      const lastBefore = arrivals.slice(0, seen0).at(-1)?.at ?? t0;
      const firstAfter = await waitFor(
        `${what}: output after the operation`,
        () => arrivals.find((a) => a.at > t1)?.at,
        60_000,
        50,
      );
      const ev = await runningEvent(kube, ns, j.status!.deployed!.id);
      const line = `${what}: operation ${((t1 - t0) / 1000).toFixed(2)}s (request → Running), output gap ${((firstAfter - lastBefore) / 1000).toFixed(2)}s; operator: ${ev ?? '?'}`;
      downtimes.push(line);
      console.log(line);
      return j;
    };

    await h.createJob(name, {
      upgradeMode: 'savepoint',
      checkpointing: { interval: '500ms', retained: 2 },
      savepoints: { historyLimit: 2, onDelete: true, timeout: '60s' },
      graph: graph(false),
    });
    await waitRunning(2);
    await waitFor('first output', () => arrivals.length > 0, 60_000, 100);
    const state = h.state(name);
    // No shared volume: the slot pods have only volumes that live and die with them (config,
    // token, the API server's service-account token, scratch space); their state is on S3.
    const volumes = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.map(
      (p) => (p.spec as { volumes?: ({ name: string } & Record<string, unknown>)[] }).volumes ?? [],
    );
    expect(volumes).toHaveLength(2);
    for (const v of volumes) {
      expect(v.filter((x) => !['configMap', 'secret', 'projected', 'emptyDir'].some((k) => k in x))).toEqual([]);
      expect(v.filter((x) => 'emptyDir' in x).map((x) => x.name)).toEqual(['tmp']);
    }

    /** What slot 0 of the running deployment reports on its control API. */
    const slot0Status = async (): Promise<StatusResponse> => {
      const pods = (
        await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name},tributary.dev/slot=0` })
      ).items.filter((p) => !p.metadata?.deletionTimestamp);
      expect(pods).toHaveLength(1);
      const secret = await kube.get<{ data: Record<string, string>; metadata?: object }>(
        Resources.Secret,
        ns,
        `${name}-control-token`,
      );
      const client = new RuntimeClient();
      try {
        return await client.status(
          RuntimeClient.baseUrl(pods[0]!.status!.podIP!),
          Buffer.from(secret.data.token!, 'base64').toString(),
        );
      } finally {
        await client.close();
      }
    };
    /** A savepoint rescale: the newest savepoint is the rescale's, and the new pods restored it. */
    const expectRescaleRestored = async (j: StreamJob, savepoints: number) => {
      expect(j.status?.savepoints).toHaveLength(savepoints);
      const sp = j.status!.savepoints!.at(-1)!;
      expect(sp.reason).toBe('rescale');
      expect(j.status?.deployed?.restoredFrom).toBe(sp.path);
      const slot0 = await slot0Status();
      expect(slot0.deploymentId).toBe(j.status?.deployed?.id);
      expect(slot0.restoredFrom).toBe(sp.path);
    };
    const j3 = await measure(
      'savepoint rescale 2→3 (kubectl scale)',
      async () => {
        const r = kubectl(['scale', '-n', ns, `streamjob/${name}`, '--replicas=3']);
        expect(r.status, r.stderr).toBe(0);
      },
      3,
    );
    await expectRescaleRestored(j3, 1);
    await sleep(2000);
    const j1 = await measure('savepoint rescale 3→1', () => scaleJob(kube, ns, name, 1), 1);
    await expectRescaleRestored(j1, 2);
    await sleep(2000);
    await measure(
      'graph change (filter added), savepoint upgrade',
      () => kube.patch(StreamJobs, ns, name, { spec: { graph: graph(true) } }),
      1,
    );
    await sleep(2000);
    const ls = await measure(
      'last-state upgrade (restartNonce), 1→2',
      () => kube.patch(StreamJobs, ns, name, { spec: { upgradeMode: 'last-state', restartNonce: 1, replicas: 2 } }),
      2,
    );
    expect(ls.status?.deployed?.restoredFrom).toMatch(/checkpoints\/chk-\d+$/);
    await sleep(2000);

    // suspend: savepoint, pods gone; resume: restored from it
    await kube.patch(StreamJobs, ns, name, { spec: { upgradeMode: 'savepoint', state: 'suspended' } });
    const sus = await waitFor(
      'Suspended',
      async () => {
        const j = await get();
        return j.status?.phase === 'Suspended' ? j : undefined;
      },
      120_000,
      250,
    );
    expect(sus.status?.resumeFrom).toMatch(/savepoints\//);
    expect(sus.status?.resumeFrom).toBe(sus.status?.savepoints?.at(-1)?.path);
    expect(sus.status?.savepoints?.at(-1)?.reason).toBe('suspend');
    await waitFor(
      'pods gone after suspend',
      async () =>
        (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.length === 0,
      60_000,
      250,
    );
    await sleep(1500);
    const resumed = await measure(
      'suspend (1.5 s) → resume',
      () => kube.patch(StreamJobs, ns, name, { spec: { state: 'running' } }),
      2,
    );
    expect(resumed.status?.deployed?.restoredFrom).toBe(sus.status?.resumeFrom);
    // historyLimit 2: only the newest two savepoints are in status
    expect(resumed.status?.savepoints?.length).toBe(2);
    // ... and the objects of the dropped ones are deleted from the bucket (slot 0, DELETE /v1/savepoints/{sp-<n>})
    const kept = (resumed.status?.savepoints ?? []).map((x) => x.path.split('/').at(-1)).sort();
    expect(resumed.status?.savepoints?.every((x) => x.path.startsWith(`${state.location}/savepoints/`))).toBe(true);
    expect(await state.savepointNames()).toEqual(kept);

    // ---- stop input; one far-future record per partition closes every real window
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
      `${n} input records, ${want.length} reference windows; output ${got.length} (missing ${check.missing.length}${check.missing.length === 5 ? '+' : ''}, duplicates ${check.dups})\n${downtimes.join('\n')}`,
    );
    expect(check).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    expect(got).toEqual(want);

    // ---- delete with onDelete: a new final savepoint is committed in the bucket; pods GC'd
    const before = new Set(await state.savepointNames());
    await kube.delete(StreamJobs, ns, name);
    await waitFor(
      'StreamJob gone',
      async () => (await kube.list<StreamJob>(StreamJobs, ns)).items.length === 0,
      120_000,
      250,
    );
    const added = (await state.savepointNames()).filter((f) => !before.has(f));
    expect(added).toHaveLength(1);
    expect(await state.committed(`${state.location}/savepoints/${added[0]}`)).toBe(true);
    console.log(`final savepoint: ${state.location}/savepoints/${added[0]}`);
    // The FinalSavepoint Event names it, unless the per-object event budget (client-go's spam
    // filter: 25, then one per 5 minutes) was spent by this long lifecycle's earlier events.
    const fin = (
      await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)
    ).items.find((e) => e.reason === 'FinalSavepoint');
    if (fin) expect(fin.message).toContain(`savepoints/${added[0]}`);
    await waitFor(
      'pods garbage-collected',
      async () =>
        (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.length === 0,
      60_000,
      250,
    );
  }, 420_000);
});
