// Drives StreamJobs with the REAL runtime on the local cluster (apiserver, node agent running
// tributary/runtime:* as processes, Kafka, the S3 server), with the StreamJob controller
// in-process: a namespace and topics, job state on S3 (a prefix of the harness's own in the
// cluster's bucket, the opted-in credentials Secret; a PVC folder when a caller asks for one),
// an input producer loop, an output reader that keeps arrival wall times, the exactly-once
// reference of the keyed-window job, and waits on StreamJob status. Shared by the
// savepoint/last-state/operator-kill integration tests and bench/rescale-downtime.ts. With
// `operator: 'process'` the controller is the operator process instead (`node
// operator/src/main.ts`, operator-process.ts), which a test can SIGKILL for real.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
import type { RuntimeClient } from '../../../runtime-client/client.ts';
import { StreamJobs } from '../resource.ts';
import type { StatusWrite } from '../status-writes.ts';
import { pvcJobState, s3JobState, type JobStateView } from './job-state.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../../version.ts';
import { startOperatorProcess, type OperatorProcess } from './operator-process.ts';

export * from './window-job.ts';

/** The runtime image the harness's operators default to: what `npm run image` builds (container mode runs it). */
const RUNTIME_IMAGE = DEFAULT_RUNTIME_IMAGE;

/** Kill the operator right after it writes `write` of `job` (at `generation`, when given). */
export interface KillAfter {
  job: string;
  write: StatusWrite;
  generation?: number;
}

export interface HarnessOptions {
  /** The in-process operator's requeue cadence. */
  cadence?: Cadence;
  /** `process`: the operator runs as its own OS process (operator-process.ts); default in-process. */
  operator?: 'in-process' | 'process';
  /** In-process operators: their slot control API client (one per operator), to inject a fault into its answers. */
  runtime?: () => RuntimeClient;
  /** In-process operators: their clock (e.g. skewed against the slots'). */
  now?: () => Date;
  /** In-process operators: Events per object before the spam filter holds them back (default 25, client-go's). */
  eventSpamBurst?: number;
}

export interface Harness {
  kube: KubeClient;
  kafka: Kafka;
  brokers: string;
  ns: string;
  id: string;
  /**
   * The current (else the last) operator's registry (the controller's metrics, e.g.
   * tributary_operator_rescale_downtime_seconds); in-process operators only.
   */
  readonly registry: Registry;
  topics: Record<string, string>;
  /**
   * Starts a new operator (startHarness starts the first; one at a time). With `killAfter`, it
   * is killed right after it makes that status write of that job: in-process, the Manager is
   * stopped and the reconcile ends there, as if the process died after the write; as a
   * process, it SIGKILLs itself there (TRIBUTARY_FAULT_KILL_AFTER_WRITE, fault-kill.ts).
   * `killed` resolves with the job as written once that operator is gone; `ready` once its
   * informer caches are synced.
   */
  startOperator(o?: { killAfter?: KillAfter }): {
    killed: Promise<StreamJob>;
    ready: Promise<void>;
  };
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
 * StreamJob controller watching that namespace. SJ_LOG=1 logs the operator (a process logs to
 * a file of its own, debug with SJ_LOG); SJ_KEEP=1 keeps the namespace and those files.
 * close() removes finalizers, the namespace and the topics.
 */
export async function startHarness(
  prefix: string,
  topics: Record<string, number>,
  opts: HarnessOptions = {},
): Promise<Harness> {
  if (opts.operator === 'process' && opts.cadence)
    throw new OperatorError(ErrorCodes.TEST_HARNESS, 'a cadence applies to an in-process operator only');
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
  let proc: OperatorProcess | undefined;
  const logDir = opts.operator === 'process' ? mkdtempSync(join(tmpdir(), `${ns}-operator-`)) : undefined;
  let started = 0;
  const stopOperator = async () => {
    const p = proc;
    proc = undefined;
    await p?.stop();
    const o = op;
    op = undefined;
    if (!o) return;
    o.mgr.stop();
    await o.running;
    await o.close();
  };
  const startOperator = (o: { killAfter?: KillAfter } = {}) => {
    if (op || proc) throw new OperatorError(ErrorCodes.TEST_HARNESS, 'an operator is already running: stop it first');
    if (logDir) return startProcess(o.killAfter);
    registry = createRegistry();
    const mgr = new Manager({
      client: kube,
      registry,
      shutdownTimeoutMs: 2_000,
      ...(process.env.SJ_LOG ? { logger: createLogger() } : {}),
      ...(opts.eventSpamBurst !== undefined ? { eventSpamBurst: opts.eventSpamBurst } : {}),
    });
    const k = o.killAfter;
    let hit: StreamJob | undefined;
    const { close } = addStreamJobController(mgr, {
      namespace: ns,
      defaultImage: RUNTIME_IMAGE,
      ...(opts.cadence ? { cadence: opts.cadence } : {}),
      ...(opts.runtime ? { runtime: opts.runtime() } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(k
        ? {
            afterWrite: (job: StreamJob, write: StatusWrite) => {
              if (hit || write !== k.write || job.metadata.name !== k.job) return;
              if (k.generation !== undefined && job.metadata.generation !== k.generation) return;
              hit = job;
              mgr.stop();
              throw new OperatorError(ErrorCodes.INJECTED_FAULT, `operator killed after writing ${write}`);
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
          `the operator stopped before writing ${k?.write ?? 'a kill point'}`,
        );
      return hit;
    })();
    killed.catch(() => undefined); // without killAfter nobody awaits it
    const ready = waitFor('in-process operator ready', () => mgr.readiness().ok, 30_000, 20).then(() => undefined);
    ready.catch(() => undefined); // a caller that only waits for the kill need not await it
    return { killed, ready };
  };
  /** The operator as a process: `killed` checks it died of SIGKILL right after the write. */
  const startProcess = (k?: KillAfter) => {
    const me = startOperatorProcess({
      namespace: ns,
      defaultImage: RUNTIME_IMAGE,
      logFile: join(logDir!, `operator-${++started}.log`),
      ...(k ? { killAfter: k } : {}),
    });
    proc = me;
    const killed = (async () => {
      const { code, signal } = await me.exited;
      if (proc === me) proc = undefined;
      const notice = me.killNotice();
      if (signal !== 'SIGKILL' || !k || !notice || notice.write !== k.write)
        throw new OperatorError(
          ErrorCodes.TEST_HARNESS,
          `operator process ${me.pid} ended (${signal ?? `code ${code}`}) without being killed after writing ${k?.write ?? 'a kill point'} (log ${me.logFile}):\n${me.tail()}`,
        );
      const job = await getJob(kube, ns, k.job);
      // Nothing writes a job but its operator: the job in the API is what the dead one wrote last.
      if (job.metadata.resourceVersion !== notice.resourceVersion)
        throw new OperatorError(
          ErrorCodes.TEST_HARNESS,
          `${k.job} changed after the operator was killed (resourceVersion ${notice.resourceVersion} written, ${job.metadata.resourceVersion ?? '?'} now)`,
        );
      return job;
    })();
    killed.catch(() => undefined);
    const ready = me.ready.then(() => undefined);
    ready.catch(() => undefined);
    return { killed, ready };
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
      if (logDir)
        throw new OperatorError(ErrorCodes.TEST_HARNESS, 'the operator runs as a process: read its /metrics instead');
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
      if (logDir && !process.env.SJ_KEEP) await rm(logDir, { recursive: true, force: true });
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
  opts: HarnessOptions = {},
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
