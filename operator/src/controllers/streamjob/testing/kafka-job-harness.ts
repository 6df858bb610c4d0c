// Drives StreamJobs with the REAL runtime on the local cluster (apiserver, node agent running
// tributary/runtime:* as processes, Kafka), with the StreamJob controller in-process: a
// namespace and topics, an input producer loop, an output reader that keeps arrival wall
// times, the exactly-once reference of the keyed-window job, and waits on StreamJob status.
// Shared by the savepoint/last-state/operator-kill integration tests and bench/rescale-downtime.ts.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import { ErrorCodes, Manager, OperatorError, Resources, type KubeClient } from '../../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../../kube/testing/cluster.ts';
import { createLogger } from '../../../telemetry/logger.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { addStreamJobController } from '../controller.ts';
import { StreamJobs } from '../resource.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Harness {
  kube: KubeClient;
  kafka: Kafka;
  brokers: string;
  ns: string;
  id: string;
  /**
   * The current (else the last) operator's registry (the controller's metrics, e.g.
   * tributary_operator_rescale_downtime_seconds).
   */
  readonly registry: Registry;
  topics: Record<string, string>;
  /**
   * Starts a new in-process operator (startHarness starts the first; one at a time). With
   * `killAfter`, it is killed right after it writes that status step of that job: the
   * Manager is stopped and the reconcile ends there, as if the process died after the write;
   * `killed` resolves with the job as written, once that operator has stopped.
   */
  startOperator(o?: { killAfter?: { job: string; step: string } }): { killed: Promise<StreamJob> };
  /** Stops the running operator (graceful: in-flight reconciles drain). */
  stopOperator(): Promise<void>;
  /** Creates StreamJob `name`: 2 replicas and state on PVC folder `claim` at /state unless `spec` says otherwise. */
  createJob(name: string, claim: string, spec: Record<string, unknown>): Promise<StreamJob>;
  close(): Promise<void>;
}

/**
 * A namespace `<prefix>-<id>`, topics `<prefix>-<name>-<id>` (name → partitions), and the
 * StreamJob controller watching that namespace. SJ_LOG=1 logs the operator; SJ_KEEP=1 keeps
 * the namespace. close() removes finalizers, the namespace and the topics.
 */
export async function startHarness(prefix: string, topics: Record<string, number>): Promise<Harness> {
  const brokers = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
  if (!brokers)
    throw new OperatorError(
      ErrorCodes.TEST_HARNESS,
      'TRIBUTARY_KAFKA_BROKERS not set (eval "$(npm run -s cluster -- env)")',
    );
  const id = suffix();
  const kube = await newClient();
  await applyRepoCrd(kube, 'streamjobs.tributary.dev');
  const ns = `${prefix}-${id}`;
  await kube.create(Resources.Namespace, { metadata: { name: ns, labels: { 'tributary.dev/test': 'streamjob' } } });
  const kafka = new Kafka({ clientId: `${prefix}-${id}`, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const names = Object.fromEntries(Object.keys(topics).map((t) => [t, `${prefix}-${t}-${id}`]));
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: Object.entries(topics).map(([t, numPartitions]) => ({ topic: names[t]!, numPartitions })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  let registry = createRegistry();
  let op: { mgr: Manager; running: Promise<void>; close: () => Promise<void> } | undefined;
  const stopOperator = async () => {
    const o = op;
    op = undefined;
    if (!o) return;
    o.mgr.stop();
    await o.running;
    await o.close();
  };
  const startOperator = (o: { killAfter?: { job: string; step: string } } = {}) => {
    if (op) throw new OperatorError(ErrorCodes.TEST_HARNESS, 'an operator is already running: stop it first');
    registry = createRegistry();
    const mgr = new Manager({
      client: kube,
      registry,
      shutdownTimeoutMs: 2_000,
      ...(process.env.SJ_LOG ? { logger: createLogger() } : {}),
    });
    const k = o.killAfter;
    let hit: StreamJob | undefined;
    const { close } = addStreamJobController(mgr, {
      namespace: ns,
      defaultImage: 'tributary/runtime:test',
      ...(k
        ? {
            afterWrite: (job: StreamJob, step: string) => {
              if (hit || step !== k.step || job.metadata.name !== k.job) return;
              hit = job;
              mgr.stop();
              throw new OperatorError(ErrorCodes.INJECTED_FAULT, `operator killed after writing ${step}`);
            },
          }
        : {}),
    });
    const running = mgr.run().catch(() => undefined);
    const me = { mgr, running, close };
    op = me;
    const killed = (async () => {
      await running;
      if (op === me) await stopOperator();
      if (!hit)
        throw new OperatorError(
          ErrorCodes.TEST_HARNESS,
          `the operator stopped before writing ${k?.step ?? 'a kill step'}`,
        );
      return hit;
    })();
    killed.catch(() => undefined); // without killAfter nobody awaits it
    return { killed };
  };
  startOperator();
  return {
    kube,
    kafka,
    brokers,
    ns,
    id,
    get registry() {
      return registry;
    },
    topics: names,
    startOperator,
    stopOperator,
    createJob: (name, claim, spec) =>
      kube.create<StreamJob>(StreamJobs, {
        apiVersion: 'tributary.dev/v1alpha1',
        kind: 'StreamJob',
        metadata: { name, namespace: ns },
        spec: { replicas: 2, stateStorage: { pvc: { claimName: claim }, path: '/state' }, ...spec },
      } as unknown as StreamJob),
    async close() {
      await stopOperator();
      for (const j of (await kube.list<StreamJob>(StreamJobs, ns)).items)
        await kube.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined);
      if (!process.env.SJ_KEEP) {
        await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
        // The node agent keeps PVC folders (<cluster dir>/node/pvcs/<ns>/) after the namespace: checkpoints,
        // savepoints, compile cache.
        const dir = process.env.TRIBUTARY_CLUSTER_DIR;
        if (dir)
          await rm(join(dir, 'node', 'pvcs', ns), { recursive: true, force: true, maxRetries: 3 }).catch(
            () => undefined,
          );
      }
      const a = kafka.admin();
      await a.connect();
      await a.deleteTopics({ topics: Object.values(names) }).catch(() => undefined);
      await a.disconnect();
    },
  };
}

/** For a vitest file: a harness started before its tests and closed after them; the getter returns it. */
export function harnessPerFile(prefix: string, topics: Record<string, number>): () => Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startHarness(prefix, topics);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });
  return () => {
    if (!h) throw new OperatorError(ErrorCodes.TEST_HARNESS, 'the harness did not start (see beforeAll)');
    return h;
  };
}

export interface InputRecord {
  user: string;
  amount: number;
  ts: number;
}

/**
 * Record i of the input: `keys` users round-robin (×7 to spread them), event time base + 2i ms (each partition in
 * order).
 */
export const inputRecord =
  (base: number, keys: number) =>
  (i: number): InputRecord => ({ user: `u${(i * 7) % keys}`, amount: (i % 7) + 1, ts: base + 2 * i });

export interface ProducerLoop {
  /** Records sent so far (record i went to partition i % partitions). */
  readonly sent: number;
  stop(): Promise<number>;
}

/** Sends `batch` records every `intervalMs` until stopped; returns the count on stop. */
export function produceLoop(
  producer: Producer,
  topic: string,
  partitions: number,
  rec: (i: number) => InputRecord,
  o: { batch?: number; intervalMs?: number; from?: number } = {},
): ProducerLoop {
  const batch = o.batch ?? 50;
  let next = o.from ?? 0;
  let producing = true;
  const loop = (async () => {
    while (producing) {
      const messages = Array.from({ length: batch }, (_, k) => {
        const i = next + k;
        const r = rec(i);
        return { key: r.user, partition: i % partitions, value: JSON.stringify(r) };
      });
      await producer.send({ topic, messages });
      next += batch;
      await sleep(o.intervalMs ?? 100);
    }
  })();
  return {
    get sent() {
      return next;
    },
    async stop() {
      producing = false;
      await loop;
      return next;
    },
  };
}

export interface Arrival<T> {
  at: number;
  v: T;
}

/** Reads a topic from the beginning; `arrivals` keeps each record with the wall time its batch arrived. */
export async function readOutput<T>(
  kafka: Kafka,
  topic: string,
  groupId: string,
  o: { readUncommitted?: boolean } = {},
): Promise<{ arrivals: Arrival<T>[]; close(): Promise<void> }> {
  const arrivals: Arrival<T>[] = [];
  const consumer = kafka.consumer({ groupId, readUncommitted: o.readUncommitted ?? false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const at = Date.now();
      for (const m of batch.messages) arrivals.push({ at, v: JSON.parse(m.value!.toString()) as T });
    },
  });
  return { arrivals, close: () => consumer.disconnect() };
}

/** The 1 s tumbling count/sum per user of the keyed-window job (windowGraph). */
export interface WindowOut {
  user: string;
  window_start: number;
  n: number;
  amount: number;
}
export const canonWindow = (o: WindowOut) => `${o.user}|${o.window_start}|${o.n}|${o.amount}`;

/**
 * Kafka source with event times → [filter] → keyBy user → 1 s tumbling window → count/sum → exactly-once Kafka sink.
 */
export function windowGraph(o: { brokers: string; input: string; output: string; groupId: string; filter?: boolean }) {
  return {
    sources: [
      {
        name: 'in',
        kafka: {
          brokers: o.brokers,
          topic: o.input,
          groupId: o.groupId,
          startFrom: 'earliest',
          schema: { user: 'string', amount: 'double', ts: 'double' },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '200ms' },
      },
    ],
    steps: [
      ...(o.filter ? [{ name: 'positive', from: 'in', filter: 'amount > 0.0' }] : []),
      { name: 'by-user', from: o.filter ? 'positive' : 'in', keyBy: 'user' },
      { name: 'per-1s', from: 'by-user', window: { tumbling: { size: '1s' } } },
      { name: 'totals', from: 'per-1s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: { brokers: o.brokers, topic: o.output, key: 'user', delivery: 'exactly-once' },
      },
    ],
  };
}

/** One far-future record per partition: the watermark passes every real window, so all of them fire. */
export async function closeAllWindows(
  producer: Producer,
  topic: string,
  partitions: number,
  lastTs: number,
): Promise<void> {
  await producer.send({
    topic,
    messages: Array.from({ length: partitions }, (_, p) => ({
      key: 'flush',
      partition: p,
      value: JSON.stringify({ user: 'flush', amount: 1, ts: lastTs + 10_000 }),
    })),
  });
}

/** Reference output of windowGraph for input records 0..n-1 (sorted canonical lines). */
export function referenceWindows(n: number, rec: (i: number) => InputRecord): string[] {
  const expected = new Map<string, WindowOut>();
  for (let i = 0; i < n; i++) {
    const r = rec(i);
    const ws = Math.floor(r.ts / 1000) * 1000;
    const k = `${r.user}|${ws}`;
    const o = expected.get(k) ?? { user: r.user, window_start: ws, n: 0, amount: 0 };
    o.n++;
    o.amount += r.amount;
    expected.set(k, o);
  }
  return [...expected.values()].map(canonWindow).sort();
}

/**
 * Ends the input (stops the loop, closes every window), waits for the reference's number of
 * output windows plus 3 s (duplicates would show by then) and compares the output with it.
 */
export async function finishAndCompare(o: {
  loop: ProducerLoop;
  producer: Producer;
  topic: string;
  partitions: number;
  rec: (i: number) => InputRecord;
  reader: { arrivals: Arrival<WindowOut>[]; close(): Promise<void> };
}): Promise<{ n: number; want: string[]; got: string[]; check: ReturnType<typeof exactlyOnce> }> {
  const n = await o.loop.stop();
  await closeAllWindows(o.producer, o.topic, o.partitions, o.rec(n - 1).ts);
  await o.producer.disconnect();
  const want = referenceWindows(n, o.rec);
  await waitFor(`${want.length} windows in the output`, () => o.reader.arrivals.length >= want.length, 90_000, 250);
  await sleep(3000);
  const got = o.reader.arrivals.map((a) => canonWindow(a.v)).sort();
  await o.reader.close();
  return { n, want, got, check: exactlyOnce(want, got) };
}

/** Missing (first 5), duplicate count and total of `got` against the reference `want`. */
export function exactlyOnce(
  want: readonly string[],
  got: readonly string[],
): { missing: string[]; dups: number; count: number } {
  const gotSet = new Set(got);
  return { missing: want.filter((w) => !gotSet.has(w)).slice(0, 5), dups: got.length - gotSet.size, count: got.length };
}

export const getJob = (kube: KubeClient, ns: string, name: string) => kube.get<StreamJob>(StreamJobs, ns, name);

/**
 * Waits until the job is Running with `replicas` slots, no operation pending, and (if given) another deployment than
 * `depNot`.
 */
export function runningWith(
  kube: KubeClient,
  ns: string,
  name: string,
  replicas: number,
  depNot?: string,
  timeoutMs = 120_000,
): Promise<StreamJob> {
  return waitFor(
    `${name} Running with ${replicas}`,
    async () => {
      const j = await getJob(kube, ns, name);
      return j.status?.phase === 'Running' &&
        !j.status.pendingOperation &&
        j.status.deployed?.parallelism === replicas &&
        j.status.deployed.id !== depNot
        ? j
        : undefined;
    },
    timeoutMs,
    250,
  );
}

/** `kubectl scale streamjob/<name> --replicas` (the scale subresource). */
export function scaleJob(kube: KubeClient, ns: string, name: string, replicas: number): Promise<unknown> {
  return kube.request('PATCH', `/apis/tributary.dev/v1alpha1/namespaces/${ns}/streamjobs/${name}/scale`, {
    body: { spec: { replicas } },
    contentType: 'application/merge-patch+json',
  });
}

/** The operator's Running Event of a deployment ("… processing stopped for X s"). */
export async function runningEvent(kube: KubeClient, ns: string, deploymentId: string): Promise<string | undefined> {
  const events = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)).items;
  return events
    .filter((e) => e.reason === 'Running')
    .map((e) => e.message)
    .find((m) => m.includes(deploymentId));
}
