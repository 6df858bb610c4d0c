// `npm run bench`: runtime benchmarks, each next to a peer measured in the same run.
// Env: BENCH_RECORDS (default 3,000,000), BENCH_ROUNDS (default 3; the best round counts).
// BENCH_ONLY=s3-savepoint runs only the savepoint/restore on S3 vs the filesystem;
// BENCH_ONLY=s3-rescale only the rescale downtime with state on S3 vs the filesystem;
// BENCH_ONLY=s3-checkpoint only the checkpoint overhead on S3 vs the filesystem vs off;
// BENCH_ONLY=s3 all three; BENCH_ONLY=rescale only the operator-driven rescale downtime on the
// local cluster (state on S3 vs on a volume); BENCH_ONLY=operator only the operator at scale
// (streamjob-operator.ts); BENCH_ONLY=container only the image and its containers
// (container-start.ts: image size and build times, slot start and rescale downtime in
// containers vs processes).
import { routeProcessWarnings } from '../runtime/src/telemetry/process-warnings.ts';
import { createLogger } from '../runtime/src/telemetry/logger.ts';
import { checkpointBenchmarks } from './checkpoint.ts';
import { runDataPlane, runInMemory, runRawTcp, type NetMeasurement } from './data-plane.ts';
import { eventTimeBenchmarks } from './event-time.ts';
import { firstCheckpointBenchmarks } from './first-checkpoint.ts';
import { functionVsCel } from './function-vs-cel.ts';
import { druidLatency } from './druid-latency.ts';
import { operatorBenchmarks } from './streamjob-operator.ts';
import { rescaleDowntime } from './rescale-downtime.ts';
import { containerBenchmarks } from './container-start.ts';
import { savepointOnS3 } from './savepoint-s3.ts';
import { rescaleDowntimeOnS3 } from './rescale-s3.ts';
import { checkpointOverheadOnS3 } from './checkpoint-s3.ts';
import { runPlainLoop, runTributary, type Measurement } from './runtime-throughput.ts';

const records = Number(process.env['BENCH_RECORDS'] ?? 3_000_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function best(ms: Measurement[]): Measurement {
  return ms.reduce((a, b) => (b.perCore > a.perCore ? b : a));
}

async function main(): Promise<void> {
  process.stdout.write(
    `runtime throughput: datagen → filter → map → keyBy → tumbling count, parallelism 1, ${fmt.format(records)} records, best of ${rounds}\n`,
  );
  // Warm up both paths (JIT) on a small run.
  await runTributary(200_000);
  runPlainLoop(200_000);
  const trib: Measurement[] = [];
  const peer: Measurement[] = [];
  for (let r = 0; r < rounds; r++) {
    trib.push(await runTributary(records));
    peer.push(runPlainLoop(records));
  }
  const t = best(trib);
  const p = best(peer);
  const rows = [t, p].map(
    (m) =>
      `  ${m.name.padEnd(28)} ${fmt.format(m.perCore).padStart(12)} rec/s per core   (${fmt.format(m.wallMs)} ms wall, ${fmt.format(m.cpuMs)} ms CPU, ${m.outputs} window results)`,
  );
  process.stdout.write(`${rows.join('\n')}\n`);
  process.stdout.write(
    `  ratio tributary / ideal peer: ${(t.perCore / p.perCore).toFixed(2)}  (target ≥ 500,000 rec/s per core: ${t.perCore >= 500_000 ? 'met' : 'NOT met'})\n`,
  );
  if (t.outputs !== p.outputs) process.stdout.write(`  WARNING: result counts differ (${t.outputs} vs ${p.outputs})\n`);
}

/** Data plane between two slot processes (BENCH_NET_RECORDS, default 2,000,000 small records). */
async function dataPlane(): Promise<void> {
  const n = Number(process.env['BENCH_NET_RECORDS'] ?? 2_000_000);
  process.stdout.write(
    `\ndata plane: slot process → slot process over loopback TCP, small keyed records in batches of 1024, ${fmt.format(n)} records, best of ${rounds}\n`,
  );
  await runDataPlane(100_000);
  const net: NetMeasurement[] = [];
  const raw: NetMeasurement[] = [];
  const mem: NetMeasurement[] = [];
  for (let r = 0; r < rounds; r++) {
    net.push(await runDataPlane(n));
    raw.push(await runRawTcp(n));
    mem.push(runInMemory(n));
  }
  const bestNet = (ms: NetMeasurement[]): NetMeasurement => ms.reduce((a, b) => (b.perCore > a.perCore ? b : a));
  const [t, p, m] = [bestNet(net), bestNet(raw), bestNet(mem)];
  const rows = [t, p, m].map(
    (x) =>
      `  ${x.name.padEnd(28)} ${fmt.format(x.perCore).padStart(12)} rec/s per core   (${fmt.format(x.wallMs)} ms wall, ${fmt.format(x.cpuMs)} ms CPU of both processes)`,
  );
  process.stdout.write(`${rows.join('\n')}\n`);
  process.stdout.write(
    `  ratio data plane / raw TCP: ${(t.perCore / p.perCore).toFixed(2)}  (target ≥ 500,000 rec/s per core: ${t.perCore >= 500_000 ? 'met' : 'NOT met'})\n`,
  );
  if (t.records !== p.records) process.stdout.write(`  WARNING: record counts differ (${t.records} vs ${p.records})\n`);
}

/** The same filter → map chain as TypeScript functions and as CEL. */
async function functionsVsCel(): Promise<void> {
  process.stdout.write(
    `\nfunction steps vs CEL: datagen → filter → map → sink, parallelism 1, ${fmt.format(records)} records, best of ${rounds}\n`,
  );
  const [f, c] = await functionVsCel(records, rounds);
  for (const m of [f, c] as const)
    process.stdout.write(
      `  ${m.name.padEnd(28)} ${fmt.format(m.perCore).padStart(12)} rec/s per core   (${fmt.format(m.cpuMs)} ms CPU, ${fmt.format(m.outputs)} records out)\n`,
    );
  process.stdout.write(`  ratio functions / CEL: ${(f.perCore / c.perCore).toFixed(2)}\n`);
  if (f.outputs !== c.outputs) process.stdout.write(`  WARNING: output counts differ (${f.outputs} vs ${c.outputs})\n`);
}

// As in the runtime: warnings as log lines (stderr), kafkajs's harmless TimeoutNegativeWarning dropped.
routeProcessWarnings(createLogger('warn'));
const only = process.env['BENCH_ONLY'];
if (only === 'operator') {
  await operatorBenchmarks();
  process.exit(0);
}
if (only?.startsWith('s3')) {
  if (only === 's3' || only === 's3-savepoint') await savepointOnS3();
  if (only === 's3' || only === 's3-rescale') await rescaleDowntimeOnS3();
  if (only === 's3' || only === 's3-checkpoint') await checkpointOverheadOnS3();
  process.exit(0);
}
if (only === 'rescale') {
  await rescaleDowntime();
  process.exit(0);
}
if (only === 'container') {
  await containerBenchmarks();
  process.exit(0);
}
await main();
await functionsVsCel();
{
  const n = Number(process.env['BENCH_EVENT_TIME_RECORDS'] ?? 1_000_000);
  process.stdout.write(
    `\nevent time: nexmark q5 (sliding count per auction) and q7 (max bid per tumbling window), p=1, ${fmt.format(n)} events, best of ${rounds}\n`,
  );
  for (const m of await eventTimeBenchmarks(n, rounds))
    process.stdout.write(
      `  ${m.query} ${fmt.format(m.perCore).padStart(12)} rec/s per core   (${m.outputs} window results)\n`,
    );
}
await dataPlane();
await checkpointBenchmarks();
await firstCheckpointBenchmarks();
// On the local cluster's S3 server (`up --with s3`), else on a versitygw of their own.
await savepointOnS3();
await rescaleDowntimeOnS3();
await checkpointOverheadOnS3();
// Needs Kafka + Druid (the local cluster); prints a skip line when TRIBUTARY_DRUID_URL is unset.
await druidLatency();
await operatorBenchmarks();
// Needs the local cluster (Kubernetes + Kafka); prints a skip line otherwise.
await rescaleDowntime();
// Needs the local cluster and root (buildah, podman); the image is built if needed.
await containerBenchmarks();
