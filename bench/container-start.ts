// The image and its containers, next to the process mode measured in the same run:
//   * image: the runtime image's size, and `npm run image` warm (every layer cached, nothing
//     changed) and, with BENCH_IMAGE_COLD=1, cold (an empty container store and base cache:
//     the Debian base assembled with mmdebstrap from the mirror, every layer built);
//   * slot start: a StreamJob of 2 slots (datagen → window → console, stateless, the
//     StreamJob controller in-process) started BENCH_ROUNDS times on the cluster's node
//     (process mode) and on a container node (podman + runc, the runtime image); per slot pod,
//     from the first time the pod is seen: the agent launching it (its log banner), the slot's
//     first log line (its pino time), and Ready;
//   * rescale downtime (bench/rescale-downtime.ts, 2 → 3 with BENCH_RESCALE_KEYS keys on S3)
//     with the slots as processes and in containers (BENCH_CONTAINER_RESCALE=0 skips it).
// Needs the local cluster (eval "$(npm run -s cluster -- env)") and root for buildah/podman.
//
//   BENCH_ONLY=container npm run bench      or      npx node bench/container-start.ts
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../image/build.ts';
import { ImageError } from '../image/errors.ts';
import { run } from '../image/store.ts';
import { Resources } from '../operator/src/kube/index.ts';
import { waitFor } from '../operator/src/kube/testing/cluster.ts';
import type { StreamJob } from '../operator/src/api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../operator/src/controllers/streamjob/resource.ts';
import { isPodReady, type Pod } from '../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { startHarness, type Harness } from '../operator/src/controllers/streamjob/testing/kafka-job-harness.ts';
import { clusterPaths } from '../test/cluster/paths.ts';
import { CONTAINER_LOGS, NODE_NAME, RUNTIME_IMAGE, startContainerNode } from '../test/image/container-node.ts';
import { clusterReachable, measureOne, rescaleTopics, type Placement, type RescaleResult } from './rescale-downtime.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface BuildTime {
  seconds: number;
  sizeMb: number;
}

/** One `npm run image` with `env`, timed; its last line gives the size. */
async function timeImageBuild(env: NodeJS.ProcessEnv): Promise<BuildTime> {
  const t0 = performance.now();
  const r = await run(['npm', 'run', '-s', 'image'], { env });
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0)
    throw new ImageError('IMAGE_BUILD_FAILED', `npm run image exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const size = /image size (\d+) MB/.exec(r.stdout);
  return { seconds, sizeMb: Number(size?.[1] ?? NaN) };
}

export interface SlotStart {
  /** Pod first seen → the agent's launch banner, the slot's first log line, Ready (ms). */
  launchMs: number;
  firstLogMs: number;
  readyMs: number;
}

/** The banner's and the first JSON log line's wall times in a container log. */
async function logTimes(file: string): Promise<{ launched: number; firstLog: number } | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  let launched: number | undefined;
  for (const line of text.split('\n')) {
    const banner = /^----- (\S+) tributary node agent: container/.exec(line);
    if (banner) launched = Date.parse(banner[1]!);
    else if (launched !== undefined && line.startsWith('{')) {
      const time = (JSON.parse(line) as { time?: number }).time;
      if (typeof time === 'number') return { launched, firstLog: time };
    }
  }
  return undefined;
}

/** Starts a 2-slot stateless job placed by `placement` (default: the cluster's node) and times its pods. */
async function startOnce(h: Harness, name: string, logDir: string, placement?: Placement): Promise<SlotStart[]> {
  const { kube, ns } = h;
  const example = parse(await readFile(join(REPO_ROOT, 'crds/examples/clicks-local.yaml'), 'utf8')) as {
    spec: Record<string, unknown>;
  };
  const seen = new Map<string, { at: number; ready?: number }>();
  await h.createJob(name, {
    ...example.spec,
    replicas: 2,
    upgradeMode: 'stateless',
    savepoints: { onDelete: false },
    image: placement?.image ?? RUNTIME_IMAGE,
    ...(placement ? { podTemplate: { nodeSelector: { 'kubernetes.io/hostname': placement.node } } } : {}),
  });
  try {
    await waitFor(
      `${name}: 2 Ready slot pods`,
      async () => {
        const pods = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items;
        const now = Date.now();
        for (const p of pods) {
          const s = seen.get(p.metadata!.name!) ?? { at: now };
          if (s.ready === undefined && isPodReady(p)) s.ready = now;
          seen.set(p.metadata!.name!, s);
        }
        return seen.size === 2 && [...seen.values()].every((s) => s.ready !== undefined);
      },
      300_000,
      25,
    );
    const out: SlotStart[] = [];
    for (const [pod, s] of seen) {
      const t = await waitFor(
        `${pod}: a log line`,
        () => logTimes(join(logDir, `${ns}_${pod}_runtime.log`)),
        30_000,
        100,
      );
      out.push({ launchMs: t.launched - s.at, firstLogMs: t.firstLog - s.at, readyMs: s.ready! - s.at });
    }
    return out;
  } finally {
    await kube.delete(StreamJobs, ns, name).catch(() => undefined);
    await waitFor(
      `${name} and its pods gone`,
      async () =>
        (await kube.list<StreamJob>(StreamJobs, ns)).items.length === 0 &&
        (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items.length === 0,
      120_000,
      250,
    ).catch(() => undefined);
  }
}

export async function containerBenchmarks(): Promise<void> {
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  process.stdout.write(`\nimage: npm run image (buildah, overlay store), the runtime image's size\n`);
  // The first build brings the image up to date with this checkout; the second is the warm one.
  await timeImageBuild(process.env);
  const warm = await timeImageBuild(process.env);
  let cold: BuildTime | undefined;
  if (process.env['BENCH_IMAGE_COLD'] === '1') {
    const store = await mkdtemp(join(tmpdir(), 'bench-containers-'));
    const baseCache = await mkdtemp(join(tmpdir(), 'bench-image-base-'));
    try {
      cold = await timeImageBuild({
        ...process.env,
        TRIBUTARY_CONTAINERS_ROOT: store,
        TRIBUTARY_IMAGE_BASE_CACHE: baseCache,
      });
    } finally {
      await run([
        'podman',
        '--root',
        join(store, 'storage-overlay'),
        '--runroot',
        join(store, 'run-overlay'),
        'system',
        'reset',
        '--force',
      ]);
      await rm(store, { recursive: true, force: true });
      await rm(baseCache, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    `  size ${warm.sizeMb} MB; warm build ${warm.seconds.toFixed(1)} s` +
      (cold
        ? `; cold build ${cold.seconds.toFixed(1)} s (empty store and base cache); ratio cold / warm ${(cold.seconds / warm.seconds).toFixed(1)}\n`
        : ' (BENCH_IMAGE_COLD=1 adds a cold build)\n'),
  );

  process.stdout.write(
    `\nslot start: StreamJob of 2 slots (datagen → window → console), process mode vs container mode (podman + runc, the runtime image), ${rounds} rounds; ms from the pod's creation\n`,
  );
  const skip = await clusterReachable();
  if (skip) {
    process.stdout.write(`  skipped: ${skip}\n`);
    return;
  }
  const rescale = process.env['BENCH_CONTAINER_RESCALE'] !== '0' && Boolean(process.env['TRIBUTARY_S3_ENDPOINT']);
  const keys = Number(process.env['BENCH_RESCALE_KEYS'] ?? 100_000);
  const container: Placement = { label: 'ctr', node: NODE_NAME, image: RUNTIME_IMAGE };
  const node = await startContainerNode('bench-ctr', { build: false });
  const h = await startHarness(
    'bench-cs',
    rescale ? { ...rescaleTopics(keys, 's3'), ...rescaleTopics(keys, 's3', container) } : {},
  );
  try {
    const processLogs = join(clusterPaths().logs, 'pods');
    const results: Record<'process' | 'container', SlotStart[]> = { process: [], container: [] };
    for (let r = 0; r < rounds; r++) {
      results.process.push(...(await startOnce(h, `start-proc-${r}`, processLogs)));
      results.container.push(...(await startOnce(h, `start-ctr-${r}`, CONTAINER_LOGS, container)));
      await sleep(1000);
    }
    const row = (mode: 'process' | 'container') => {
      const xs = results[mode];
      const m = (f: (s: SlotStart) => number) => median(xs.map(f));
      return { launch: m((s) => s.launchMs), firstLog: m((s) => s.firstLogMs), ready: m((s) => s.readyMs) };
    };
    const p = row('process');
    const c = row('container');
    for (const [mode, v] of [
      ['process', p],
      ['container', c],
    ] as const)
      process.stdout.write(
        `  ${mode.padEnd(10)} median of ${results[mode].length} slots: launched ${v.launch.toFixed(0)} ms, first log line ${v.firstLog.toFixed(0)} ms, Ready ${v.ready.toFixed(0)} ms\n`,
      );
    process.stdout.write(
      `  ratio container / process: launched ${(c.launch / p.launch).toFixed(2)}, first log line ${(c.firstLog / p.firstLog).toFixed(2)}, Ready ${(c.ready / p.ready).toFixed(2)}; first log line - launched: ${(c.firstLog - c.launch).toFixed(0)} vs ${(p.firstLog - p.launch).toFixed(0)} ms\n`,
    );

    if (!rescale) {
      process.stdout.write(`\nrescale downtime in containers: skipped (BENCH_CONTAINER_RESCALE=0 or no S3 server)\n`);
      return;
    }
    const rate = Number(process.env['BENCH_RESCALE_RATE'] ?? 300);
    process.stdout.write(
      `\nrescale downtime: StreamJob 2→3 (savepoint mode) with ${keys} keys on S3 while ${rate} records/s flow; slots as processes vs in containers\n`,
    );
    const asProcess: RescaleResult = await measureOne(h, keys, 's3', rate);
    const inContainers: RescaleResult = await measureOne(h, keys, 's3', rate, container);
    for (const [mode, x] of [
      ['process', asProcess],
      ['container', inContainers],
    ] as const)
      process.stdout.write(
        `  ${mode.padEnd(10)} output gap ${x.outputGapS.toFixed(2)} s, operator downtime ${x.operatorDowntimeS.toFixed(2)} s, request → Running ${x.operationS.toFixed(2)} s, savepoint ${(x.savepointBytes / 1e6).toFixed(2)} MB\n` +
          `  ${''.padEnd(10)} steps after the request: ${Object.entries(x.steps)
            .map(([k, v]) => `${k} ${v.toFixed(2)}s`)
            .join(', ')}\n`,
      );
    process.stdout.write(
      `  ratio container / process: output gap ${(inContainers.outputGapS / asProcess.outputGapS).toFixed(2)}, operator downtime ${(inContainers.operatorDowntimeS / asProcess.operatorDowntimeS).toFixed(2)}\n`,
    );
  } finally {
    await h.close();
    await node.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await containerBenchmarks();
  setTimeout(() => process.exit(0), 500).unref();
}
