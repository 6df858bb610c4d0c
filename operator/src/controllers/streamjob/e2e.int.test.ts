// End to end with the REAL runtime (image tributary/runtime:* → node runtime/src/main.ts),
// real Kafka, the real apiserver and the node agent, in a namespace that enforces Pod Security
// "restricted": apply a StreamJob → `kubectl wait --for=condition=Ready` returns once N slot
// pods (restricted-profile, one per slot, of the recorded deployment) run → output flows; the
// objects the operator made are owned by the job and the status serves the scale
// subresource; then `kubectl scale` (a `stateless` rescale): while it works Reconciling is
// True (Rescale) and observedGeneration behind, and `kubectl wait` returns once it is done.
// Checkpoints go to the local S3 server. (Savepoint-mode rescales with the real runtime:
// savepoint-e2e.int.test.ts and operator-kill-e2e.int.test.ts.)
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager, Resources, type KubeClient } from '../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../kube/testing/cluster.ts';
import { createRegistry } from '../../telemetry/metrics.ts';
import { createLogger } from '../../telemetry/logger.ts';
import type { StateStorage, StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { deletePrefixAfterNamespace, s3StateStorage } from '../../../../test/harness/s3-state-storage.ts';
import { inputProducer } from '../../../../runtime/src/testing/kafka-topics.ts';
import { addStreamJobController } from './controller.ts';
import { StreamJobs } from './resource.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';
import { kubectl, kubectlAsync } from './testing/kubectl.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../version.ts';

const brokers = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);

describe('StreamJob with the real runtime and Kafka', () => {
  let kube: KubeClient;
  let ns: string;
  /** The job's state on the local S3 server (a prefix of this file's own). */
  let stateStorage: StateStorage;
  let mgr: Manager;
  let running: Promise<void>;
  let close: () => Promise<void>;
  const kafka = new Kafka({ clientId: 'sj-e2e', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const id = suffix();
  const input = `sj-in-${id}`;
  const output = `sj-out-${id}`;

  beforeAll(async () => {
    if (!brokers) throw new Error('TRIBUTARY_KAFKA_BROKERS not set');
    kube = await newClient();
    await applyRepoCrd(kube, 'streamjobs.tributary.dev');
    ns = `sje-${id}`;
    await kube.create(Resources.Namespace, {
      metadata: {
        name: ns,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'tributary.dev/test': 'streamjob' },
      },
    });
    stateStorage = await s3StateStorage(kube, ns, 'e2e');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: 4 },
        { topic: output, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    mgr = new Manager({
      client: kube,
      registry: createRegistry(),
      shutdownTimeoutMs: 2_000,
      ...(process.env.SJ_LOG ? { logger: createLogger() } : {}),
    });
    ({ close } = addStreamJobController(mgr, { namespace: ns, defaultImage: DEFAULT_RUNTIME_IMAGE }));
    running = mgr.run();
  }, 120_000);

  afterAll(async () => {
    mgr?.stop();
    await running?.catch(() => undefined);
    await close?.();
    // with the operator gone, the final-savepoint finalizers would hold the namespace
    if (ns)
      for (const j of (await kube.list<StreamJob>(StreamJobs, ns)).items)
        await kube.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined);
    if (ns && !process.env.SJ_KEEP) await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
    if (ns && stateStorage?.s3?.prefix && !process.env.SJ_KEEP)
      await deletePrefixAfterNamespace(kube, ns, stateStorage.s3.prefix).catch(() => undefined);
  });

  const produce = async (from: number, n: number) => {
    const p = inputProducer(kafka);
    await p.connect();
    const messages = Array.from({ length: n }, (_, i) => ({
      key: `k${(from + i) % 97}`,
      value: JSON.stringify({ n: from + i, page: `p${(from + i) % 7}` }),
    }));
    await p.send({ topic: input, messages });
    await p.disconnect();
  };
  const consumeAll = async (expected: number, timeoutMs: number): Promise<number[]> => {
    const seen: number[] = [];
    const c = kafka.consumer({ groupId: `sj-e2e-${suffix()}` });
    await c.connect();
    await c.subscribe({ topic: output, fromBeginning: true });
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push((JSON.parse(message.value!.toString()) as { n: number }).n);
      },
    });
    try {
      // Distinct records: a stateless rescale starts empty, so its source reads the topic from
      // `startFrom` (earliest) again and the output repeats what was there (the job asked for no state).
      await waitFor(`${expected} distinct output records`, () => new Set(seen).size >= expected, timeoutMs, 250);
    } finally {
      await c.disconnect();
    }
    return seen;
  };
  const get = () => kube.get<StreamJob>(StreamJobs, ns, 'e2e');
  it('apply → kubectl wait Ready → N restricted-profile runtime pods, owned objects, scale status → output flows; kubectl scale (stateless) keeps it flowing, kstatus following the work', async () => {
    await kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: 'e2e', namespace: ns },
      spec: {
        replicas: 2,
        upgradeMode: 'stateless',
        stateStorage,
        checkpointing: { interval: '2s' },
        graph: {
          sources: [
            {
              name: 'in',
              kafka: {
                brokers,
                topic: input,
                groupId: `g-${id}`,
                startFrom: 'earliest',
                schema: { n: 'double', page: 'string' },
              },
            },
          ],
          steps: [{ name: 'even', from: 'in', filter: 'n >= 0.0' }],
          sinks: [{ name: 'out', from: 'even', kafka: { brokers, topic: output } }],
        },
      },
    } as unknown as StreamJob);
    const t0 = Date.now();
    // kstatus: Ready once the deployment runs (kubectl wait runs asynchronously: the operator
    // under test runs in this process).
    const w0 = await kubectlAsync(['wait', '-n', ns, 'streamjob/e2e', '--for=condition=Ready', '--timeout=120s']);
    expect(w0.code, w0.stderr).toBe(0);
    const j = await get();
    console.log(
      `real runtime: 2 slots RUNNING ${((Date.now() - t0) / 1000).toFixed(1)}s after apply (deployment ${j.status?.deployed?.id})`,
    );
    expect(j.status?.phase).toBe('Running');
    expect(j.status?.deployed?.parallelism).toBe(2);
    expect(j.status?.observedGeneration).toBe(j.metadata.generation);
    expect(cond(j, 'Reconciling')?.status).toBe('False');
    expect(cond(j, 'Stalled')?.status).toBe('False');
    // The scale subresource's status paths.
    expect(j.status?.replicas).toBe(2);
    expect(j.status?.selector).toBe('app.kubernetes.io/managed-by=tributary,tributary.dev/job=e2e');
    const pods = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: 'tributary.dev/job=e2e' })).items;
    expect(pods.length).toBe(2);
    // One pod per slot, all of the recorded deployment, each admitted under "restricted".
    expect(pods.map((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL])).toEqual([
      j.status!.deployed!.id,
      j.status!.deployed!.id,
    ]);
    expect(pods.map((p) => p.metadata?.labels?.['tributary.dev/slot']).sort()).toEqual(['0', '1']);
    for (const p of pods) {
      const spec = p.spec as { containers: { securityContext: Record<string, unknown> }[]; restartPolicy: string };
      expect(spec.restartPolicy).toBe('Never');
      expect(spec.containers[0]!.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    // What the operator made for the job is owned by it (garbage-collected with it).
    for (const [rt, n] of [
      [Resources.Service, 'e2e'],
      [Resources.Secret, 'e2e-control-token'],
      [Resources.ConfigMap, `e2e-${j.status!.deployed!.id}`],
    ] as const) {
      const o = await kube.get(rt, ns, n);
      expect(o.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StreamJob', name: 'e2e', controller: true });
    }
    // ... and the namespace really enforces the profile: a privileged pod is refused.
    const bad = kubectl(['run', '-n', ns, 'priv', '--image=busybox', '--privileged', '--restart=Never', '--', 'true']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('restricted');
    await produce(0, 200);
    const seen = await consumeAll(200, 60_000);
    expect(new Set(seen).size).toBe(200);

    const scaled = kubectl(['scale', '-n', ns, 'streamjob/e2e', '--replicas=3']);
    expect(scaled.status, scaled.stderr).toBe(0);
    // kubectl wait runs while the status is sampled: during the rescale Reconciling is True and
    // observedGeneration behind; kubectl wait returns only once the new pods run.
    const waiting = kubectlAsync(['wait', '-n', ns, 'streamjob/e2e', '--for=condition=Ready', '--timeout=120s']);
    const during: StreamJob[] = [];
    let exited: { code: number | null; stderr: string } | undefined;
    void waiting.then((r) => (exited = r));
    while (!exited) {
      const c = await get();
      if (c.status?.pendingOperation) during.push(c);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(exited.code, exited.stderr).toBe(0);
    const scaledJob = await get();
    expect(scaledJob.status?.deployed?.parallelism).toBe(3);
    expect(scaledJob.status?.pendingOperation).toBeUndefined();
    expect(scaledJob.status?.replicas).toBe(3);
    expect(scaledJob.status?.observedGeneration).toBe(scaledJob.metadata.generation);
    expect(cond(scaledJob, 'Ready')).toMatchObject({
      status: 'True',
      observedGeneration: scaledJob.metadata.generation,
    });
    expect(cond(scaledJob, 'Reconciling')?.status).toBe('False');
    expect(during.length).toBeGreaterThan(0);
    for (const d of during) {
      expect(cond(d, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Rescale' });
      expect(d.status!.observedGeneration!).toBeLessThan(d.metadata.generation!);
    }
    const ev = (
      await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)
    ).items.find((e) => e.reason === 'Running' && e.message.includes('rescale'));
    console.log(`real runtime stateless rescale 2→3: ${ev?.message}`);
    await produce(200, 200);
    const after = await consumeAll(400, 60_000);
    // Nothing produced is missing, nothing else appears.
    expect([...new Set(after)].sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
  });
});
