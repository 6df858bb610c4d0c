// End to end with the REAL runtime (image tributary/runtime:* → node runtime/src/main.ts),
// real Kafka, the real apiserver and the node agent, in a "restricted" namespace:
// apply a StreamJob → N slot pods → RUNNING → output flows; then a `stateless` rescale.
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
import { addStreamJobController } from './controller.ts';
import { StreamJobs } from './resource.ts';
import type { Pod } from './objects/slot-pod.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../version.ts';

const brokers = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';

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
    const p = kafka.producer();
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
  const runningWith = (replicas: number) =>
    waitFor(
      `e2e Running with ${replicas}`,
      async () => {
        const j = await get();
        return j.status?.phase === 'Running' &&
          !j.status.pendingOperation &&
          j.status.deployed?.parallelism === replicas
          ? j
          : undefined;
      },
      120_000,
      500,
    );

  it('apply → N runtime pods → RUNNING → output flows; a stateless rescale keeps it flowing', async () => {
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
    const j = await runningWith(2);
    console.log(
      `real runtime: 2 slots RUNNING ${((Date.now() - t0) / 1000).toFixed(1)}s after apply (deployment ${j.status?.deployed?.id})`,
    );
    const pods = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: 'tributary.dev/job=e2e' })).items;
    expect(pods.length).toBe(2);
    await produce(0, 200);
    const seen = await consumeAll(200, 60_000);
    expect(new Set(seen).size).toBe(200);

    await kube.patch(StreamJobs, ns, 'e2e', { spec: { replicas: 3 } });
    await runningWith(3);
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
