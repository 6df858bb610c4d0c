// Exactly-once in containers: the chart installed with `helm install` (the operator in its
// container on the container node, watching one namespace that enforces Pod Security
// `restricted`, the jobs' default state storage on the cluster's S3 server as README.md's
// "On Kubernetes" sets it up), and the StreamJob's slot pods running the runtime image. The
// job is the keyed-window one the operator's e2e tests drive (Kafka with event times → keyBy
// user → 1 s tumbling window → count/sum → exactly-once Kafka sink); its read_committed
// output must equal the reference computed from the produced input (nothing lost, nothing
// twice).
//
// OOMKilled: a hog key's window state (countDistinct over large unique strings, all in one
// window that cannot fire while they are read) outgrows a small memory limit. Exactly-once
// replay brings the same records into the same window after any restore, so the restarted
// deployment outgrows it again: the job fails for good after restartPolicy.maxRestarts (1),
// and raising the limit (a spec change) starts it again from its latest checkpoint. Node sizes
// its heap from the container's limit (~86%), but the process's memory outside the heap
// (code, buffers) puts the container over its limit before the heap reaches its own: the
// kernel, not V8, stops the slot.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamJob } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import {
  finishAndCompare,
  inputProducer,
  getJob,
  inputRecord,
  produceLoop,
  readOutput,
  runningWith,
  scaleJob,
  windowGraph,
  canonWindow,
  exactlyOnce,
  type InputRecord,
  type WindowOut,
} from '../../operator/src/controllers/streamjob/testing/kafka-job-harness.ts';
import { s3JobState } from '../../operator/src/controllers/streamjob/testing/job-state.ts';
import { Resources, type KubeClient } from '../../operator/src/kube/index.ts';
import { newClient, waitFor } from '../../operator/src/kube/testing/cluster.ts';
import type { Pod } from '../../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { deletePrefix, ensureS3Secret, localS3, S3_SECRET_NAME } from '../harness/s3-state-storage.ts';
import {
  installChart,
  logRecords,
  NODE_NAME,
  podmanPs,
  RUNTIME_IMAGE,
  startContainerNode,
  type ContainerNode,
  type Release,
} from './container-node.ts';

const PARTITIONS = 4;
const KEYS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The small limit, and the hog: this many distinct strings of HOG_BYTES each in one window. */
const SMALL_LIMIT = '256Mi';
const HOG_RECORDS = 300;
const HOG_BYTES = 1_000_000;

let node: ContainerNode;
let chart: Release | undefined;
let kube: KubeClient;
let kafka: Kafka;
let ns: string;
const s3 = localS3();
const prefix = `tests/img-${randomBytes(4).toString('hex')}`;
const brokers = process.env['TRIBUTARY_KAFKA_BROKERS'] ?? '';
const topics: string[] = [];

beforeAll(async () => {
  node = await startContainerNode('imgx');
  ns = node.ns;
  kube = await newClient();
  await ensureS3Secret(kube, ns, s3);
  kafka = new Kafka({ clientId: ns, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const storage = {
    s3: {
      bucket: s3.bucket,
      prefix,
      endpoint: s3.endpoint,
      region: s3.region,
      pathStyle: true,
      credentialsSecretRef: { name: S3_SECRET_NAME },
    },
  };
  chart = await installChart(ns, [], [`stateStorage=${JSON.stringify(storage)}`]);
}, 900_000);

afterAll(async () => {
  await chart?.uninstall().catch(() => undefined);
  await node?.stop();
  // The namespace is gone (its slots wrote checkpoints until then): the jobs' state with it.
  await deletePrefix(prefix, s3).catch(() => undefined);
  if (topics.length > 0) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
});

async function newTopics(name: string): Promise<{ input: string; output: string }> {
  const t = { input: `${ns}-${name}-in`, output: `${ns}-${name}-out` };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: t.input, numPartitions: PARTITIONS },
      { topic: t.output, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  topics.push(t.input, t.output);
  return t;
}

/** A StreamJob on the container node, with the chart's default state storage (it names none). */
async function createJob(name: string, spec: Record<string, unknown>): Promise<StreamJob> {
  const { podTemplate, ...rest } = spec as { podTemplate?: Record<string, unknown> };
  return kube.create<StreamJob>(StreamJobs, {
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      upgradeMode: 'savepoint',
      checkpointing: { interval: '1s', retained: 2 },
      savepoints: { onDelete: false, timeout: '60s' },
      ...rest,
      podTemplate: { ...podTemplate, nodeSelector: { 'kubernetes.io/hostname': NODE_NAME } },
    },
  } as unknown as StreamJob);
}

const slotPods = async (job: string, dep: string) =>
  (
    await kube.list<Pod>(Resources.Pod, ns, {
      labelSelector: `tributary.dev/job=${job},tributary.dev/deployment=${dep}`,
    })
  ).items;

async function events(reason: string): Promise<string[]> {
  const list = await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns);
  return list.items.filter((e) => e.reason === reason).map((e) => e.message);
}

async function startInput(name: string, input: string, output: string, rec: (i: number) => InputRecord) {
  const reader = await readOutput<WindowOut>(kafka, output, `${ns}-${name}-reader`);
  const producer: Producer = inputProducer(kafka);
  await producer.connect();
  return { reader, producer, loop: produceLoop(producer, input, PARTITIONS, rec) };
}

describe('exactly-once in containers (helm-installed operator, slots in the runtime image, state on S3)', () => {
  it('a Kafka → window → exactly-once Kafka job rescaled 2 → 3 restores the savepoint from s3:// and equals the reference', async () => {
    const name = 'rescale';
    const { input, output } = await newTopics(name);
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, KEYS);
    const io = await startInput(name, input, output, rec);
    await createJob(name, { graph: windowGraph({ brokers, input, output, groupId: `${ns}-${name}` }) });
    const first = await runningWith(kube, ns, name, 2, undefined, 300_000);
    await waitFor('first output', () => io.reader.arrivals.length > 0, 60_000, 100);

    await scaleJob(kube, ns, name, 3);
    const scaled = await runningWith(kube, ns, name, 3, first.status!.deployed!.id, 300_000);
    const location = `s3://${s3.bucket}/${prefix}/${ns}/${name}`;
    const restored = scaled.status?.deployed?.restoredFrom ?? '';
    expect(restored).toMatch(new RegExp(`^${location}/savepoints/sp-\\d+$`));
    expect(scaled.status?.savepoints?.map((s) => s.path)).toContain(restored);
    expect(await s3JobState(location).committed(restored)).toBe(true);
    // Every new slot is a container of the runtime image on the container node that loaded
    // its share of that savepoint.
    const checkpointId = Number(restored.split('sp-')[1]);
    const pods = await slotPods(name, scaled.status!.deployed!.id);
    expect(pods).toHaveLength(3);
    const running = await podmanPs('{{.Names}} {{.Image}}');
    for (const p of pods) {
      expect(p.spec?.['nodeName']).toBe(NODE_NAME);
      expect(running).toContainEqual(
        expect.stringMatching(new RegExp(`_${p.metadata!.name}_${ns}_.* localhost/${RUNTIME_IMAGE}$`)),
      );
      const loaded = await waitFor(
        `${p.metadata!.name} logged its restore`,
        () => logRecords(ns, p.metadata!.name!, 'runtime', 'state restored into the operators')[0],
        30_000,
      );
      expect(loaded['checkpointId']).toBe(checkpointId);
    }

    await sleep(2000);
    const { n, want, got, check } = await finishAndCompare({ ...io, kafka, topic: input, partitions: PARTITIONS, rec });
    console.log(`rescale 2→3 in containers: ${n} input records, ${want.length} windows, restored ${restored}`);
    expect(check).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    expect(got).toEqual(want);
    await kube.delete(StreamJobs, ns, name);
  }, 600_000);

  it('a slot over its memory limit is OOMKilled, the StreamJob names it, and the job resumes from its last checkpoint exactly-once', async () => {
    const name = 'oom';
    const { input, output } = await newTopics(name);
    const base = inputRecord(Math.floor(Date.now() / 1000) * 1000, KEYS);
    const rec = (i: number): InputRecord => ({ ...base(i), pad: '' }) as InputRecord;
    const io = await startInput(name, input, output, rec);
    await createJob(name, {
      graph: hogGraph({ brokers, input, output, groupId: `${ns}-${name}` }),
      restartPolicy: { maxRestarts: 1, backoff: { initial: '1s' } },
      podTemplate: { resources: { limits: { memory: SMALL_LIMIT } } },
    });
    await runningWith(kube, ns, name, 2, undefined, 300_000);
    await waitFor('first output', () => io.reader.arrivals.length > 0, 60_000, 100);

    // The hog: input paused, HOG_RECORDS distinct strings for user `hog` at the newest event
    // time (one window, not late), one record per partition per send (each under Kafka's
    // message size), then input again. The window cannot fire before every hog record is in
    // it: the watermark only passes it with the records sent after them.
    const paused = await io.loop.stop();
    const hogTs = rec(paused - 1).ts;
    for (let i = 0; i < HOG_RECORDS; i += PARTITIONS) {
      await io.producer.send({
        topic: input,
        messages: Array.from({ length: PARTITIONS }, (_, p) => ({
          key: 'hog',
          partition: p,
          value: JSON.stringify({ user: 'hog', amount: 1, ts: hogTs, pad: `${i + p}:${'x'.repeat(HOG_BYTES)}` }),
        })),
      });
    }
    const loop = produceLoop(io.producer, input, PARTITIONS, rec, { from: paused });

    // Reported: the restart's event names the slot and the kubelet's reason.
    const slotFailed = await waitFor(
      'a SlotFailed event naming OOMKilled',
      async () => (await events('SlotFailed')).find((m) => m.includes('OOMKilled')),
      300_000,
      500,
    );
    const named = /slot (\d+) \(pod ([^)]+)\): OOMKilled, exit 137/.exec(slotFailed);
    expect(named, slotFailed).not.toBeNull();
    expect(named![2]).toMatch(new RegExp(`^${name}-.*-${named![1]}$`));
    expect(slotFailed).toContain('restarting all slots from the latest checkpoint (restart 1/1)');
    // The restart restores the newest checkpoint, replays the hog into the same window and is
    // OOMKilled again: past maxRestarts the job is Failed, with the reason.
    const failed = await waitFor(
      `${name} Failed`,
      async () => {
        const j = await getJob(kube, ns, name);
        return j.status?.phase === 'Failed' ? j : undefined;
      },
      300_000,
      500,
    );
    expect(failed.status?.lastError).toMatch(/slot \d+ \(pod [^)]+\): OOMKilled, exit 137.*gave up after 1 restarts/);
    const restartDep = failed.status!.deployed!.id;
    expect(await events('PodsCreated')).toContainEqual(
      expect.stringMatching(
        new RegExp(`^deployment ${restartDep}: 2 slot pod\\(s\\) created, restoring the newest checkpoint since`),
      ),
    );
    const restartLoaded = logRecords(
      ns,
      `${name}-${restartDep}-${named![1]}`,
      'runtime',
      'state restored into the operators',
    );
    expect(restartLoaded[0]?.['checkpointId']).toEqual(expect.any(Number));

    // A larger limit (a spec change) starts the failed job again from its latest checkpoint.
    await kube.patch(StreamJobs, ns, name, { spec: { podTemplate: { resources: { limits: { memory: '2Gi' } } } } });
    const resumed = await runningWith(kube, ns, name, 2, restartDep, 300_000);
    const location = `s3://${s3.bucket}/${prefix}/${ns}/${name}`;
    expect(resumed.status?.deployed?.restoredFrom).toMatch(new RegExp(`^${location}/checkpoints/chk-\\d+$`));
    expect(Number(resumed.status!.deployed!.restoredFrom!.split('chk-')[1])).toBeGreaterThanOrEqual(
      restartLoaded[0]!['checkpointId'] as number,
    );

    await sleep(2000);
    const { n, want, got } = await finishAndCompare({
      ...io,
      kafka,
      loop,
      extraInput: HOG_RECORDS,
      topic: input,
      partitions: PARTITIONS,
      rec,
    });
    const hogWindow = canonWindow({
      user: 'hog',
      window_start: Math.floor(hogTs / 1000) * 1000,
      n: HOG_RECORDS,
      amount: HOG_RECORDS,
    });
    const reference = [...want, hogWindow].sort();
    console.log(
      `OOMKilled in containers: ${slotFailed}; ${n} input records + ${HOG_RECORDS} hog, ${reference.length} windows`,
    );
    expect(exactlyOnce(reference, got)).toEqual({ missing: [], unexpected: [], dups: 0, count: reference.length });
    expect(got).toEqual(reference);
    await kube.delete(StreamJobs, ns, name);
  }, 900_000);
});

/** windowGraph plus a `pad` string per record and `d: countDistinct(pad)` per window (the hog's state). */
function hogGraph(o: { brokers: string; input: string; output: string; groupId: string }) {
  const g = windowGraph(o);
  const src = g.sources[0]!.kafka;
  return {
    ...g,
    sources: [{ ...g.sources[0]!, kafka: { ...src, schema: { ...src.schema, pad: 'string' } } }],
    steps: g.steps.map((s) =>
      'aggregate' in s && s.aggregate ? { ...s, aggregate: { ...s.aggregate, d: 'countDistinct(pad)' } } : s,
    ),
  };
}
