// Rescale downtime of a StreamJob with 100k keys of keyed window state: the REAL runtime run
// by the node agent on the local cluster, real Kafka, the StreamJob controller in-process.
// The job is rescaled 2 → 3 (savepoint mode) while input flows, with its state on the
// cluster's S3 server (the default storage); next to peers measured in the same run: the same
// rescale with the state on a volume (the filesystem peer), and with ~100 keys on S3 (the
// state-size effect).
//
//   kafka in → keyBy user → 1 h tumbling window → count → sink hourly (exactly-once): the
//              window never fires during the bench, so its state holds one entry per key
//            → map {user, ts} → sink out (exactly-once): one output record per input record
//
// Downtime = last output record written before the stop → first written after the restart:
// the largest gap between arrivals at a read_uncommitted consumer of `out` (records of a
// Kafka transaction are visible to it as soon as the sink wrote them, not at commit), around
// the rescale. Also printed: the operator's own tributary_operator_rescale_downtime_seconds
// (savepoint done → new deployment RUNNING) and where the time went (status steps).
//
// Needs the local cluster (KUBECONFIG, TRIBUTARY_KAFKA_BROKERS, TRIBUTARY_CLUSTER_DIR: eval
// "$(npm run -s cluster -- env)"); skipped with a message otherwise. Env: BENCH_RESCALE_KEYS
// (default 100000), BENCH_RESCALE_PEER_KEYS (default 100), BENCH_RESCALE_RATE (records/s,
// default 300). Run alone: npx node bench/rescale-downtime.ts
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import type { Histogram } from 'prom-client';
import { Resources } from '../operator/src/kube/index.ts';
import { newClient, waitFor } from '../operator/src/kube/testing/cluster.ts';
import type { StreamJob } from '../operator/src/api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../operator/src/controllers/streamjob/resource.ts';
import type { Pod } from '../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { stateStoreFor } from '../runtime/src/checkpoint/storage/state-store-for.ts';
import {
  getJob,
  inputRecord,
  produceLoop,
  readOutput,
  runningWith,
  scaleJob,
  startHarness,
  type Harness,
} from '../operator/src/controllers/streamjob/testing/kafka-job-harness.ts';

const PARTITIONS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Storage = 's3' | 'volume';

export interface RescaleResult {
  keys: number;
  storage: Storage;
  /** Largest gap between output records around the rescale (s). */
  outputGapS: number;
  /** When that gap began and ended (epoch ms at the reader): to line it up with the slots' logs. */
  gapFrom: number;
  gapTo: number;
  /** The operator's tributary_operator_rescale_downtime_seconds observation (s). */
  operatorDowntimeS: number;
  /** Request → Running (s). */
  operationS: number;
  savepointBytes: number;
  /** Seconds from the scale request to the first observation of each status step. */
  steps: Record<string, number>;
}

/** The savepoint's state size from its metadata (a volume's path read on the node's disk). */
async function savepointBytes(path: string, ns: string, claim: string): Promise<number> {
  const location = path.startsWith('s3://')
    ? path
    : join(process.env.TRIBUTARY_CLUSTER_DIR ?? '', 'node', 'pvcs', ns, claim, path.replace(/^\/state\/?/, ''));
  const body = await stateStoreFor(location)
    .read(`${location}/_metadata.json`)
    .catch(() => undefined);
  if (!body) return 0;
  return (JSON.parse(Buffer.from(body).toString('utf8')) as { stateSize?: number }).stateSize ?? 0;
}

async function downtimeSum(h: Harness): Promise<number> {
  const m = h.registry.getSingleMetric('tributary_operator_rescale_downtime_seconds') as Histogram | undefined;
  const v = (await m?.get())?.values.find(
    (x) => x.metricName === 'tributary_operator_rescale_downtime_seconds_sum' && x.labels['kind'] === 'rescale',
  );
  return v?.value ?? 0;
}

/** Where the slot pods run: a node (by hostname) and an image; default the cluster's node, the harness's image. */
export interface Placement {
  /** Tells runs apart (topic and job names). */
  label: string;
  node: string;
  image: string;
}

/** The topics measureOne(keys, storage, placement) uses, for startHarness. */
export function rescaleTopics(keys: number, storage: Storage, placement?: Placement): Record<string, number> {
  const tag = `${keys}${storage}${placement?.label ?? ''}`;
  return { [`in${tag}`]: PARTITIONS, [`out${tag}`]: 1, [`hourly${tag}`]: 1 };
}

export async function measureOne(
  h: Harness,
  keys: number,
  storage: Storage,
  rate: number,
  placement?: Placement,
): Promise<RescaleResult> {
  const { kube, ns, kafka, brokers, id } = h;
  const tag = `${keys}${storage}${placement?.label ?? ''}`;
  const name = `rescale-${keys}-${storage === 's3' ? 's3' : 'vol'}${placement ? `-${placement.label}` : ''}`;
  const input = h.topics[`in${tag}`]!;
  const output = h.topics[`out${tag}`]!;
  const claim = `state-${name}-${id}`;
  // Event times inside one hour window for the whole run: the 1 h window never fires.
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const rec = inputRecord(hour, keys);
  const reader = await readOutput<{ user: string; ts: number }>(kafka, output, `bench-rd-${tag}-${id}`, {
    readUncommitted: true,
  });
  const producer: Producer = kafka.producer();
  await producer.connect();
  try {
    const spec = {
      ...(placement
        ? { image: placement.image, podTemplate: { nodeSelector: { 'kubernetes.io/hostname': placement.node } } }
        : {}),
      upgradeMode: 'savepoint',
      checkpointing: { interval: '5s', retained: 1 },
      savepoints: { timeout: '120s' },
      graph: {
        sources: [
          {
            name: 'in',
            kafka: {
              brokers,
              topic: input,
              groupId: `g-${name}-${id}`,
              startFrom: 'earliest',
              schema: { user: 'string', amount: 'double', ts: 'double' },
            },
            timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
          },
        ],
        steps: [
          { name: 'by-user', from: 'in', keyBy: 'user' },
          { name: 'per-hour', from: 'by-user', window: { tumbling: { size: '1h' } } },
          { name: 'hourly', from: 'per-hour', aggregate: { n: 'count()' } },
          { name: 'echo', from: 'in', map: { user: 'user', ts: 'ts' } },
        ],
        sinks: [
          {
            name: 'hourly-out',
            from: 'hourly',
            kafka: { brokers, topic: h.topics[`hourly${tag}`]!, key: 'user', delivery: 'exactly-once' },
          },
          { name: 'out', from: 'echo', kafka: { brokers, topic: output, key: 'user', delivery: 'exactly-once' } },
        ],
      },
    };
    // Without a claim the harness puts the state on the cluster's S3 server.
    if (storage === 's3') await h.createJob(name, spec);
    else await h.createJob(name, claim, spec);
    const before = await runningWith(kube, ns, name, 2, undefined, 180_000);

    // Every key once (the window state), then a steady flow over all keys.
    for (let i = 0; i < keys; i += 5000) {
      const n = Math.min(5000, keys - i);
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, k) => ({
          key: `u${i + k}`,
          partition: (i + k) % PARTITIONS,
          value: JSON.stringify({ user: `u${i + k}`, amount: 1, ts: hour }),
        })),
      });
    }
    await waitFor(`${keys} keys in the job's state`, () => reader.arrivals.length >= keys, 300_000, 250);
    const batch = Math.max(1, Math.round(rate / 10));
    const loop = produceLoop(producer, input, PARTITIONS, rec, { batch, intervalMs: 100 });
    await sleep(4000);

    const dep = before.status!.deployed!.id;
    const opBefore = await downtimeSum(h);
    const seen0 = reader.arrivals.length;
    const t0 = Date.now();
    await scaleJob(kube, ns, name, 3);
    const steps: Record<string, number> = {};
    const after = await waitFor(
      `${name} Running with 3`,
      async () => {
        const j = await getJob(kube, ns, name);
        const step = j.status?.pendingOperation?.step;
        if (step && steps[step] === undefined) steps[step] = (Date.now() - t0) / 1000;
        return j.status?.phase === 'Running' &&
          !j.status.pendingOperation &&
          j.status.deployed?.parallelism === 3 &&
          j.status.deployed.id !== dep
          ? j
          : undefined;
      },
      300_000,
      50,
    );
    const t1 = Date.now();
    steps['Running'] = (t1 - t0) / 1000;
    const firstAfter = await waitFor(
      'output after the rescale',
      () => reader.arrivals.find((a, i) => i >= seen0 && a.at > t1)?.at,
      120_000,
      20,
    );
    steps['first output'] = (firstAfter - t0) / 1000;
    await loop.stop();
    // The largest gap between consecutive arrivals from just before the request to the first output after Running.
    let gap = 0;
    let gapFrom = t0;
    let prev = reader.arrivals[Math.max(0, seen0 - 1)]?.at ?? t0;
    for (let i = seen0; i < reader.arrivals.length; i++) {
      const at = reader.arrivals[i]!.at;
      if (at > firstAfter) break;
      if (at - prev > gap) {
        gap = at - prev;
        gapFrom = prev;
      }
      prev = at;
    }
    return {
      keys,
      storage,
      outputGapS: gap / 1000,
      gapFrom,
      gapTo: gapFrom + gap,
      operatorDowntimeS: (await downtimeSum(h)) - opBefore,
      operationS: (t1 - t0) / 1000,
      savepointBytes: await savepointBytes(after.status?.deployed?.restoredFrom ?? '', ns, claim),
      steps,
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await reader.close().catch(() => undefined);
    await kube.delete(StreamJobs, ns, name).catch(() => undefined);
    await waitFor(
      `${name} gone`,
      async () => (await kube.list<StreamJob>(StreamJobs, ns)).items.length === 0,
      120_000,
      250,
    ).catch(() => undefined);
    await waitFor(
      `${name} pods gone`,
      async () =>
        (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.length === 0,
      60_000,
      250,
    ).catch(() => undefined);
  }
}

export async function clusterReachable(): Promise<string | undefined> {
  if (!process.env['KUBECONFIG'] || !process.env['TRIBUTARY_KAFKA_BROKERS'] || !process.env['TRIBUTARY_CLUSTER_DIR'])
    return 'KUBECONFIG, TRIBUTARY_KAFKA_BROKERS or TRIBUTARY_CLUSTER_DIR is unset (start the local cluster: eval "$(npm run -s cluster -- env)")';
  try {
    const kube = await newClient();
    await Promise.race([
      kube.list(Resources.Namespace, undefined),
      sleep(5000).then(() => Promise.reject(new Error('no answer in 5 s'))),
    ]);
    return undefined;
  } catch (e) {
    return `the cluster's API server is not reachable: ${(e as Error).message}`;
  }
}

export async function rescaleDowntime(): Promise<RescaleResult[] | undefined> {
  const keys = Number(process.env['BENCH_RESCALE_KEYS'] ?? 100_000);
  const peerKeys = Number(process.env['BENCH_RESCALE_PEER_KEYS'] ?? 100);
  const rate = Number(process.env['BENCH_RESCALE_RATE'] ?? 300);
  process.stdout.write(
    `\nrescale downtime: StreamJob 2→3 (savepoint mode) while ${rate} records/s flow, real runtime on the local cluster; ${keys} keys of window state on S3 vs the same on a volume, and vs ${peerKeys} keys on S3\n`,
  );
  const skip = await clusterReachable();
  if (skip) {
    process.stdout.write(`  skipped: ${skip}\n`);
    return undefined;
  }
  if (!process.env['TRIBUTARY_S3_ENDPOINT']) {
    process.stdout.write(`  skipped: no S3 server in the local cluster (up --with kafka,s3)\n`);
    return undefined;
  }
  const runs: [number, Storage][] = [
    [peerKeys, 's3'],
    [keys, 's3'],
    [keys, 'volume'],
  ];
  const topics: Record<string, number> = {};
  for (const [k, st] of runs) Object.assign(topics, rescaleTopics(k, st));
  const h = await startHarness('bench-rd', topics);
  try {
    const results: RescaleResult[] = [];
    for (const [k, st] of runs) results.push(await measureOne(h, k, st, rate));
    const [peer, big, volume] = results as [RescaleResult, RescaleResult, RescaleResult];
    const fmtSteps = (s: Record<string, number>) =>
      Object.entries(s)
        .map(([k, v]) => `${k} ${v.toFixed(2)}s`)
        .join(', ');
    for (const r of [big, volume, peer]) {
      process.stdout.write(
        `  ${`${r.keys} keys, ${r.storage}`.padEnd(20)} output gap ${r.outputGapS.toFixed(2)} s, operator downtime ${r.operatorDowntimeS.toFixed(2)} s, request → Running ${r.operationS.toFixed(2)} s, savepoint ${(r.savepointBytes / 1e6).toFixed(2)} MB\n`,
      );
      process.stdout.write(`  ${''.padEnd(20)} steps after the request: ${fmtSteps(r.steps)}\n`);
      process.stdout.write(
        `  ${''.padEnd(20)} output gap from ${new Date(r.gapFrom).toISOString()} to ${new Date(r.gapTo).toISOString()}\n`,
      );
    }
    process.stdout.write(
      `  ratio S3 / volume (${keys} keys): output gap ${(big.outputGapS / volume.outputGapS).toFixed(2)}, operator downtime ${(big.operatorDowntimeS / volume.operatorDowntimeS).toFixed(2)}\n`,
    );
    process.stdout.write(
      `  ratio ${keys} keys / ${peerKeys} keys on S3: output gap ${(big.outputGapS / peer.outputGapS).toFixed(2)}, operator downtime ${(big.operatorDowntimeS / peer.operatorDowntimeS).toFixed(2)}  (target < 5 s downtime with ${keys} keys on S3: ${big.outputGapS < 5 ? 'met' : 'NOT met'})\n`,
    );
    return results;
  } finally {
    await h.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await rescaleDowntime();
  setTimeout(() => process.exit(0), 500).unref();
}
