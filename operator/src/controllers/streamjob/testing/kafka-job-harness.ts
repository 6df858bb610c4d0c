// Drives StreamJobs with the REAL runtime on the local cluster (apiserver, node agent running
// tributary/runtime:* as processes, Kafka, the S3 server), with the StreamJob controller
// in-process: a namespace and topics, job state on S3 (a prefix of the harness's own in the
// cluster's bucket, the opted-in credentials Secret; a PVC folder when a caller asks for one),
// an input producer loop, an output reader that keeps arrival wall times, the exactly-once
// reference of the keyed-window job, and waits on StreamJob status. Shared by the
// savepoint/last-state/operator-kill integration tests and bench/rescale-downtime.ts.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import { ErrorCodes, Manager, OperatorError, Resources, type KubeClient } from '../../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../../kube/testing/cluster.ts';
import { createLogger } from '../../../telemetry/logger.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import type { StateStorage, StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { deletePrefixAfterNamespace, s3StateStorage } from '../../../../../test/harness/s3-state-storage.ts';
import { addStreamJobController } from '../controller.ts';
import type { Cadence } from '../phases.ts';
import { StreamJobs } from '../resource.ts';
import { pvcJobState, s3JobState, type JobStateView } from './job-state.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../../version.ts';

export * from './window-job.ts';

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
  /**
   * Creates StreamJob `name` with 2 replicas unless `spec` says otherwise. Its state lives on
   * the cluster's S3 server, under the harness's prefix (s3://<bucket>/<prefix>/<ns>/<name>);
   * with a `claim` (the older form), on that PVC folder mounted at /state instead, for a caller
   * that reads the state from the node's disk. A `spec.stateStorage` replaces either.
   */
  createJob(name: string, spec: Record<string, unknown>): Promise<StreamJob>;
  createJob(name: string, claim: string, spec: Record<string, unknown>): Promise<StreamJob>;
  /** What job `name` (created by createJob) left in its state location, read from outside. */
  state(name: string): JobStateView;
  close(): Promise<void>;
}

/**
 * A namespace `<prefix>-<id>`, topics `<prefix>-<name>-<id>` (name → partitions), and the
 * StreamJob controller watching that namespace. SJ_LOG=1 logs the operator; SJ_KEEP=1 keeps
 * the namespace. close() removes finalizers, the namespace and the topics.
 */
export async function startHarness(
  prefix: string,
  topics: Record<string, number>,
  opts: { cadence?: Cadence } = {},
): Promise<Harness> {
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
      defaultImage: DEFAULT_RUNTIME_IMAGE,
      ...(opts.cadence ? { cadence: opts.cadence } : {}),
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
  // The S3 block is made on first use: a caller with PVC jobs only needs no S3 server.
  let s3: (StateStorage & { s3: NonNullable<StateStorage['s3']> }) | undefined;
  const storageOf = new Map<string, StateStorage>();
  const createJob = async (name: string, a: string | Record<string, unknown>, b?: Record<string, unknown>) => {
    const spec = typeof a === 'string' ? (b ?? {}) : a;
    const storage: StateStorage =
      (spec.stateStorage as StateStorage | undefined) ??
      (typeof a === 'string'
        ? { pvc: { claimName: a }, path: '/state' }
        : (s3 ??= await s3StateStorage(kube, ns, prefix)));
    storageOf.set(name, storage);
    views.delete(name);
    return kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name, namespace: ns },
      spec: { replicas: 2, ...spec, stateStorage: storage },
    } as unknown as StreamJob);
  };
  const views = new Map<string, JobStateView>();
  const state = (name: string): JobStateView => {
    const storage = storageOf.get(name);
    const dir = process.env.TRIBUTARY_CLUSTER_DIR;
    const v =
      views.get(name) ??
      (storage?.s3
        ? s3JobState(`s3://${storage.s3.bucket}/${[storage.s3.prefix, ns, name].filter(Boolean).join('/')}`)
        : storage?.pvc && dir
          ? pvcJobState(dir, ns, storage.pvc.claimName, storage.path || '/state')
          : undefined);
    if (v) {
      views.set(name, v);
      return v;
    }
    throw new OperatorError(
      ErrorCodes.TEST_HARNESS,
      `job ${name}: no state to read (not created by this harness, or on a PVC without TRIBUTARY_CLUSTER_DIR)`,
    );
  };
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
    createJob: createJob as Harness['createJob'],
    state,
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
        // ... and the S3 server keeps the objects under the harness's prefix (final savepoints,
        // checkpoints), written until the namespace's pods are gone.
        if (s3?.s3.prefix) await deletePrefixAfterNamespace(kube, ns, s3.s3.prefix).catch(() => undefined);
      }
      const a = kafka.admin();
      await a.connect();
      await a.deleteTopics({ topics: Object.values(names) }).catch(() => undefined);
      await a.disconnect();
    },
  };
}

/** For a vitest file: a harness started before its tests and closed after them; the getter returns it. */
export function harnessPerFile(
  prefix: string,
  topics: Record<string, number>,
  opts: { cadence?: Cadence } = {},
): () => Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startHarness(prefix, topics, opts);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });
  return () => {
    if (!h) throw new OperatorError(ErrorCodes.TEST_HARNESS, 'the harness did not start (see beforeAll)');
    return h;
  };
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
