// Issue 5's savepoint lifecycle with the REAL runtime (tributary/runtime:* → node
// runtime/src/main.ts), real Kafka, the real apiserver and the node agent; the StreamJob
// controller runs in-process. One job (Kafka source with event times → keyBy → 1 s tumbling
// window → count/sum → exactly-once Kafka sink, state on a PVC folder shared by the slots)
// goes through, while a producer keeps writing input:
//   scale 2 → 3 → 1 (scale subresource, savepoint mode) → graph change (a filter inserted,
//   savepoint upgrade) → last-state upgrade (restartNonce) → suspend → resume
// then input stops, one far-future record per partition closes every real window, and the
// read_committed output must equal the reference computed here from the produced records
// (same multiset: no loss, no duplicate). Finally delete with savepoints.onDelete: the
// FinalSavepoint Event names a folder that exists, and the pods are garbage-collected.
//
// Downtime per operation is printed two ways: the operator's (stop-with-savepoint trigger →
// savepoint done → new deployment RUNNING) and the output gap (wall time between the last
// committed window before the operation and the first after it, seen by a read_committed
// consumer; an upper bound: output is committed per checkpoint and windows fire per second).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager, Resources, type KubeClient } from '../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../kube/testing/cluster.ts';
import { createRegistry } from '../../telemetry/metrics.ts';
import { createLogger } from '../../telemetry/logger.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { addStreamJobController } from './controller.ts';
import { StreamJobs, type Pod } from './resources.ts';

const brokers = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
const PARTITIONS = 4;
const KEYS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Out { user: string; window_start: number; n: number; amount: number }
const canon = (o: Out) => `${o.user}|${o.window_start}|${o.n}|${o.amount}`;

describe('StreamJob savepoint lifecycle with the real runtime', () => {
  let kube: KubeClient;
  let ns: string;
  let mgr: Manager;
  let running: Promise<void>;
  let close: () => Promise<void>;
  const kafka = new Kafka({ clientId: 'sj-sp-e2e', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const id = suffix();
  const input = `sjsp-in-${id}`;
  const output = `sjsp-out-${id}`;
  const claim = `state-${id}`;
  const name = 'life';
  // The node agent keeps PVC folders in <cluster dir>/node/pvcs/<ns>/<claim>/ (no PVC object needed).
  const pvcRoot = process.env.TRIBUTARY_CLUSTER_DIR ? join(process.env.TRIBUTARY_CLUSTER_DIR, 'node', 'pvcs') : undefined;

  beforeAll(async () => {
    if (!brokers) throw new Error('TRIBUTARY_KAFKA_BROKERS not set');
    kube = await newClient();
    await applyRepoCrd(kube, 'streamjobs.tributary.dev');
    ns = `sjsp-${id}`;
    await kube.create(Resources.Namespace, { metadata: { name: ns, labels: { 'tributary.dev/test': 'streamjob' } } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }, { topic: output, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    mgr = new Manager({ client: kube, registry: createRegistry(), shutdownTimeoutMs: 2_000, ...(process.env.SJ_LOG ? { logger: createLogger() } : {}) });
    ({ close } = addStreamJobController(mgr, { namespace: ns, defaultImage: 'tributary/runtime:test' }));
    running = mgr.run();
  }, 120_000);

  afterAll(async () => {
    mgr?.stop();
    await running?.catch(() => undefined);
    await close?.();
    if (ns) for (const j of (await kube.list<StreamJob>(StreamJobs, ns)).items) await kube.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined);
    if (ns && !process.env.SJ_KEEP) await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('rescale 2→3→1, graph change, last-state, suspend/resume: exactly-once output; delete takes a final savepoint', async () => {
    const base = Math.floor(Date.now() / 1000) * 1000;
    // Record i: partition i % 4, event time base + 2i ms (each partition in order: nothing late).
    const rec = (i: number) => ({ user: `u${(i * 7) % KEYS}`, amount: (i % 7) + 1, ts: base + 2 * i });
    const graph = (filter: boolean) => ({
      sources: [{ name: 'in', kafka: { brokers, topic: input, groupId: `g-${id}`, startFrom: 'earliest', schema: { user: 'string', amount: 'double', ts: 'double' } }, timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '200ms' } }],
      steps: [
        ...(filter ? [{ name: 'positive', from: 'in', filter: 'amount > 0.0' }] : []),
        { name: 'by-user', from: filter ? 'positive' : 'in', keyBy: 'user' },
        { name: 'per-1s', from: 'by-user', window: { tumbling: { size: '1s' } } },
        { name: 'totals', from: 'per-1s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
      ],
      sinks: [{ name: 'out', from: 'totals', kafka: { brokers, topic: output, key: 'user', delivery: 'exactly-once' } }],
    });

    // ---- output observer (read_committed), arrival wall times kept for the gap measure
    const arrivals: { at: number; v: Out }[] = [];
    const consumer = kafka.consumer({ groupId: `sjsp-reader-${id}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic: output, fromBeginning: true });
    await consumer.run({ eachBatch: async ({ batch }) => { const at = Date.now(); for (const m of batch.messages) arrivals.push({ at, v: JSON.parse(m.value!.toString()) as Out }); } });

    // ---- producer loop: 500 records/s, event time advancing 1 s per second
    const producer: Producer = kafka.producer();
    await producer.connect();
    let next = 0;
    let producing = true;
    const loop = (async () => {
      while (producing) {
        const messages = Array.from({ length: 50 }, (_, k) => { const i = next + k; const r = rec(i); return { key: r.user, partition: i % PARTITIONS, value: JSON.stringify(r) }; });
        await producer.send({ topic: input, messages });
        next += 50;
        await sleep(100);
      }
    })();

    const get = () => kube.get<StreamJob>(StreamJobs, ns, name);
    const runningWith = (replicas: number, depNot?: string) => waitFor(`${name} Running with ${replicas}`, async () => {
      const j = await get();
      return j.status?.phase === 'Running' && !j.status.pendingOperation && j.status.deployed?.parallelism === replicas && j.status.deployed.id !== depNot ? j : undefined;
    }, 120_000, 250);
    const downtimes: string[] = [];
    const measure = async (what: string, act: () => Promise<unknown>, replicas: number) => {
      const before = await get();
      const dep = before.status?.deployed?.id;
      const t0 = Date.now();
      const seen0 = arrivals.length;
      await act();
      const j = await runningWith(replicas, dep);
      const t1 = Date.now();
      // output gap: last arrival before t0 → first arrival after the new deployment ran
      const lastBefore = arrivals.slice(0, seen0).at(-1)?.at ?? t0;
      const firstAfter = await waitFor(`${what}: output after the operation`, () => arrivals.find((a) => a.at > t1)?.at, 60_000, 50);
      const ev = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)).items.filter((e) => e.reason === 'Running').map((e) => e.message).find((m) => m.includes(j.status!.deployed!.id));
      const line = `${what}: operation ${((t1 - t0) / 1000).toFixed(2)}s (request → Running), output gap ${((firstAfter - lastBefore) / 1000).toFixed(2)}s; operator: ${ev ?? '?'}`;
      downtimes.push(line);
      console.log(line);
      return j;
    };

    await kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 2,
        upgradeMode: 'savepoint',
        stateStorage: { pvc: { claimName: claim }, path: '/state' },
        checkpointing: { interval: '500ms', retained: 2 },
        savepoints: { historyLimit: 2, onDelete: true, timeout: '60s' },
        graph: graph(false),
      },
    } as unknown as StreamJob);
    await runningWith(2);
    await waitFor('first output', () => arrivals.length > 0, 60_000, 100);

    const scale = (replicas: number) => kube.request('PATCH', `/apis/tributary.dev/v1alpha1/namespaces/${ns}/streamjobs/${name}/scale`, { body: { spec: { replicas } }, contentType: 'application/merge-patch+json' });
    await measure('savepoint rescale 2→3', () => scale(3), 3);
    await sleep(2000);
    await measure('savepoint rescale 3→1', () => scale(1), 1);
    await sleep(2000);
    await measure('graph change (filter added), savepoint upgrade', () => kube.patch(StreamJobs, ns, name, { spec: { graph: graph(true) } }), 1);
    await sleep(2000);
    const ls = await measure('last-state upgrade (restartNonce), 1→2', () => kube.patch(StreamJobs, ns, name, { spec: { upgradeMode: 'last-state', restartNonce: 1, replicas: 2 } }), 2);
    expect(ls.status?.deployed?.restoredFrom).toMatch(/checkpoints\/chk-\d+$/);
    await sleep(2000);

    // suspend: savepoint, pods gone; resume: restored from it
    await kube.patch(StreamJobs, ns, name, { spec: { upgradeMode: 'savepoint', state: 'suspended' } });
    const sus = await waitFor('Suspended', async () => { const j = await get(); return j.status?.phase === 'Suspended' ? j : undefined; }, 120_000, 250);
    expect(sus.status?.resumeFrom).toMatch(/savepoints\//);
    await waitFor('pods gone after suspend', async () => (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.length === 0, 60_000, 250);
    await sleep(1500);
    const resumed = await measure('suspend (1.5 s) → resume', () => kube.patch(StreamJobs, ns, name, { spec: { state: 'running' } }), 2);
    expect(resumed.status?.deployed?.restoredFrom).toBe(sus.status?.resumeFrom);
    // historyLimit 2: only the newest two savepoints are in status
    expect(resumed.status?.savepoints?.length).toBe(2);
    // ... and the folders of the dropped ones are deleted (slot 0, DELETE /v1/savepoints/{sp-<n>})
    if (pvcRoot) {
      const kept = (resumed.status?.savepoints ?? []).map((x) => x.path.split('/').at(-1)).sort();
      expect(readdirSync(join(pvcRoot, ns, claim, 'savepoints')).filter((f) => f.startsWith('sp-')).sort()).toEqual(kept);
    }

    // ---- stop input; one far-future record per partition closes every real window
    producing = false;
    await loop;
    const n = next;
    const lastTs = rec(n - 1).ts;
    await producer.send({ topic: input, messages: Array.from({ length: PARTITIONS }, (_, p) => ({ key: 'flush', partition: p, value: JSON.stringify({ user: 'flush', amount: 1, ts: lastTs + 10_000 }) })) });
    await producer.disconnect();

    const expected = new Map<string, Out>();
    for (let i = 0; i < n; i++) {
      const r = rec(i);
      const ws = Math.floor(r.ts / 1000) * 1000;
      const k = `${r.user}|${ws}`;
      const o = expected.get(k) ?? { user: r.user, window_start: ws, n: 0, amount: 0 };
      o.n++;
      o.amount += r.amount;
      expected.set(k, o);
    }
    const want = [...expected.values()].map(canon).sort();
    await waitFor(`${want.length} windows in the output`, () => arrivals.length >= want.length, 90_000, 250);
    await sleep(3000); // duplicates would show up now
    const got = arrivals.map((a) => canon(a.v)).sort();
    await consumer.disconnect();
    const gotSet = new Set(got);
    const missing = want.filter((w) => !gotSet.has(w));
    const dups = got.length - gotSet.size;
    console.log(`${n} input records, ${want.length} reference windows; output ${got.length} (missing ${missing.length}, duplicates ${dups})\n${downtimes.join('\n')}`);
    expect({ missing: missing.slice(0, 5), dups, count: got.length }).toEqual({ missing: [], dups: 0, count: want.length });
    expect(got).toEqual(want);

    // ---- delete with onDelete: a new final savepoint folder exists; pods GC'd
    if (!pvcRoot) throw new Error('TRIBUTARY_CLUSTER_DIR is not set: the integration setup provides it');
    const spDir = join(pvcRoot, ns, claim, 'savepoints');
    const before = new Set(readdirSync(spDir));
    await kube.delete(StreamJobs, ns, name);
    await waitFor('StreamJob gone', async () => (await kube.list<StreamJob>(StreamJobs, ns)).items.length === 0, 120_000, 250);
    const added = readdirSync(spDir).filter((f) => f.startsWith('sp-') && !before.has(f));
    expect(added).toHaveLength(1);
    expect(existsSync(join(spDir, added[0]!, '_metadata.json'))).toBe(true);
    console.log(`final savepoint: /state/savepoints/${added[0]}`);
    // The FinalSavepoint Event names it, unless the per-object event budget (client-go's spam
    // filter: 25, then one per 5 minutes) was spent by this long lifecycle's earlier events.
    const fin = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)).items.find((e) => e.reason === 'FinalSavepoint');
    if (fin) expect(fin.message).toContain(`savepoints/${added[0]}`);
    await waitFor('pods garbage-collected', async () => (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.length === 0, 60_000, 250);
  }, 420_000);
});
