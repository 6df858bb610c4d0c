// `npm run bench`: runtime benchmarks, each next to a peer measured in the same run.
// Env: BENCH_RECORDS (default 3,000,000), BENCH_ROUNDS (default 3; the best round counts).
// BENCH_ONLY=s3-savepoint runs only the savepoint/restore on S3 vs the filesystem;
// BENCH_ONLY=s3-rescale only the rescale downtime with state on S3 vs the filesystem;
// BENCH_ONLY=s3-checkpoint only the checkpoint overhead on S3 vs the filesystem vs off;
// BENCH_ONLY=s3 all three; BENCH_ONLY=event-time only the event-time figures (per-record vs
// per-batch watermarks on q5/q7, event-time latency at p1 and p2); BENCH_ONLY=rescale only the
// operator-driven rescales on the local cluster: the savepoint rescale's downtime (state on S3 vs on
// a volume; BENCH_RESCALE_DOWNTIME=0 skips it), then live vs savepoint with slot pods, 2→3 and 3→2,
// as processes and in containers (BENCH_RESCALE_LIVE=pods|containers picks one, 0 skips both;
// BENCH_LIVE_PLOT=1 writes docs/images/live-rescale-latency-pods.svg, -containers.svg);
// BENCH_ONLY=autoscaler only the autoscaler scaling a capacity-bound job against the same job at
// a fixed replica count (autoscaler.ts; writes docs/operator/autoscaler-run.svg);
// BENCH_ONLY=operator only the operator at scale (streamjob-operator.ts); BENCH_ONLY=container
// only the image and its containers (container-start.ts: image size and build times, slot
// start and rescale downtime in containers vs processes); BENCH_ONLY=kudu only the Kudu sink and
// source vs `kudu perf loadgen` and `kudu perf table_scan` (kudu.ts; needs the local cluster's Kudu);
// BENCH_ONLY=slot-memory only the RSS per slot process of a distributed q0 (slot-memory.ts).
// BENCH_ONLY=state only incremental vs full keyed-state checkpoints as the state grows to 5M keys, and the
// restore of each, then the same with keyed state in the disk backend (state.ts; writes
// docs/images/state-checkpoints.svg). Not in the full run: ~15 minutes.
// BENCH_ONLY=state-throughput only records/s and records per CPU-second of a rolling count over 10M keys and of
// nexmark q5, each with keyed state on the heap and in the disk backend (state-throughput.ts). Not in the full
// run: several minutes and a few GB of heap.
// BENCH_ONLY=state-ttl only a keep-first dedupe with and without `ttl: 1h` over 24 h of event time, driven
// directly, on the heap and the disk backend: keys held and whether the outputs keep their promise (state-ttl.ts;
// writes docs/images/state-ttl.svg). Not in the full run: about a minute.
// BENCH_ONLY=kafka-idle only the CPU of idle Kafka clients with and without our kafkajs patches.
// BENCH_ONLY=timer-sort only the timer queue's bucket sort against the built-in sort (timer-sort.ts).
// BENCH_ONLY=crc32c only our CRC-32C of record batches against kafkajs's (crc32c.ts).
// BENCH_ONLY=record-decoder only our kafkajs record decoder against kafkajs's (record-decoder.ts).
// BENCH_ONLY=origins-exchange only a keyBy exchange's frames with record origins against without
// (origins-exchange.ts: what an errorOutput behind a keyBy costs there).
// BENCH_ONLY=data-plane only the data plane: slot processes over TCP against raw TCP and an
// in-memory channel, and slot threads over MessagePorts against loopback TCP (data-plane.ts).
// BENCH_ONLY=kafka (or `npm run bench -- kafka`) only the Kafka path against its peers: the bare
// kafkajs loop, a Java kafka-clients pipe, tributary q0/q1 at p1 and p2 (kafka-path.ts; needs the
// local cluster's Kafka).
// BENCH_ONLY=formats only Avro, Protobuf and JSON Schema decode → map → encode against JSON (formats.ts;
// needs the local cluster's registry).
// BENCH_ONLY=node-timing only the cost of timing each node against the same job untimed (node-timing.ts).
// BENCH_ONLY=threads only `tributary run -p 1` vs `-p 2 --single-thread`, `--threads`, `--distributed`
// (threads.ts: q5 on datagen, q0 Kafka pass-through when the local cluster's Kafka is there).
// BENCH_ONLY=live-rescale only the live rescale (`job.rescale(n)`) against the savepoint rescale, both in
// one process, 2→3 and 3→2: output gap, latency around the rescale, exactly-once checked (rescale-local.ts;
// needs the local cluster's Kafka and a JDK; BENCH_LIVE_PLOT=1 writes docs/images/live-rescale-latency.svg);
// BENCH_LIVE_HOST=threads|distributed|all runs the same with the slots as `tributary run --threads` /
// `--distributed` runs them (a child process driven through its control API); =pods|containers with
// the slots as slot pods of a StreamJob (live-rescale-pods.ts), which BENCH_ONLY=rescale runs too.
import { routeProcessWarnings } from '../runtime/src/telemetry/process-warnings.ts';
import { createLogger } from '../runtime/src/telemetry/logger.ts';
import { checkpointBenchmarks } from './checkpoint.ts';
import { runDataPlane, runInMemory, runRawTcp, runThreadPair, type NetMeasurement } from './data-plane.ts';
import { EVENT_RATES, eventTimeBenchmarks } from './event-time.ts';
import { eventTimeLatency } from './event-time-latency.ts';
import { firstCheckpointBenchmarks } from './first-checkpoint.ts';
import { functionVsCel } from './function-vs-cel.ts';
import { druidLatency } from './druid-latency.ts';
import { operatorBenchmarks } from './streamjob-operator.ts';
import { rescaleDowntime } from './rescale-downtime.ts';
import { autoscalerBenchmark } from './autoscaler.ts';
import { containerBenchmarks } from './container-start.ts';
import { savepointOnS3 } from './savepoint-s3.ts';
import { rescaleDowntimeOnS3 } from './rescale-s3.ts';
import { checkpointOverheadOnS3 } from './checkpoint-s3.ts';
import { runPlainLoop, runTributary, type Measurement } from './runtime-throughput.ts';
import { kuduBenchmarks } from './kudu.ts';
import { slotMemoryBenchmarks } from './slot-memory.ts';
import { kafkaIdleBenchmarks } from './kafka-idle.ts';
import { kafkaPathBenchmarks } from './kafka-path.ts';
import { crc32cBenchmark } from './crc32c.ts';
import { recordDecoderBenchmark } from './record-decoder.ts';
import { originsExchangeBenchmark } from './origins-exchange.ts';
import { timerSortBenchmark } from './timer-sort.ts';
import { nodeTimingBenchmark } from './node-timing.ts';
import { formatsBenchmark } from './formats.ts';
import { threadsBenchmarks } from './threads.ts';
import { hostsFromEnv, liveRescaleBenchmark } from './live-rescale.ts';
import { stateBenchmark } from './state.ts';
import { stateThroughputBenchmark } from './state-throughput.ts';
import { stateTtlBenchmark } from './state-ttl.ts';

const records = Number(process.env['BENCH_RECORDS'] ?? 3_000_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The operator's savepoint rescale (rescale-downtime.ts), then live vs savepoint with slot pods (rescale-local.ts). */
async function operatorRescales(): Promise<void> {
  if (process.env['BENCH_RESCALE_DOWNTIME'] !== '0') await rescaleDowntime();
  const live = process.env['BENCH_RESCALE_LIVE'] ?? 'pods,containers';
  if (live !== '0') await liveRescaleBenchmark(hostsFromEnv(live));
}

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

  process.stdout.write(
    `\ndata plane: slot thread → slot thread of one process, ${fmt.format(n)} records, best of ${rounds}\n`,
  );
  const tcp: NetMeasurement[] = [];
  const ports: NetMeasurement[] = [];
  for (let r = 0; r < rounds; r++) {
    tcp.push(await runThreadPair(n, 'tcp'));
    ports.push(await runThreadPair(n, 'ports'));
  }
  const [overTcp, overPorts] = [bestNet(tcp), bestNet(ports)];
  for (const x of [overPorts, overTcp])
    process.stdout.write(
      `  ${x.name.padEnd(28)} ${fmt.format(x.perCore).padStart(12)} rec/s per core   (${fmt.format(x.wallMs)} ms wall, ${fmt.format(x.cpuMs)} ms CPU of the process)\n`,
    );
  process.stdout.write(
    `  ratio MessagePorts / loopback TCP: ${(overPorts.perCore / overTcp.perCore).toFixed(2)} per core, ${(overTcp.wallMs / overPorts.wallMs).toFixed(2)} by wall time\n`,
  );
  if (overTcp.records !== overPorts.records || overTcp.records < n)
    process.stdout.write(`  WARNING: record counts differ (${overPorts.records} vs ${overTcp.records}, ${n} sent)\n`);
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

/** Per-record vs per-batch watermarks on q5/q7, and event-time latency at p1 and p2. */
async function eventTime(): Promise<void> {
  const n = Number(process.env['BENCH_EVENT_TIME_RECORDS'] ?? 1_000_000);
  process.stdout.write(
    `\nevent time: nexmark q5 (sliding count per auction) and q7 (max bid per tumbling window), p=1, ${fmt.format(n)} events, best of ${rounds}; watermarks published inside a poll (per record) vs once per poll (per batch, the peer); dense = ${fmt.format(EVENT_RATES.dense)} events per event-time second (a 1024-record poll spans 0.1 s), sparse = ${EVENT_RATES.sparse} (a poll spans 5 s)\n`,
  );
  for (const c of await eventTimeBenchmarks(n, rounds)) {
    process.stdout.write(
      `  ${`${c.query} ${c.density}`.padEnd(10)} per record ${fmt.format(c.perRecord.perCore).padStart(10)} rec/s per core   per batch ${fmt.format(c.perBatch.perCore).padStart(10)}   ratio per record / per batch: ${(c.perRecord.perCore / c.perBatch.perCore).toFixed(2)}   (${c.perRecord.outputs} window results)\n`,
    );
    if (c.perRecord.outputs !== c.perBatch.outputs)
      process.stdout.write(`  WARNING: result counts differ (${c.perRecord.outputs} vs ${c.perBatch.outputs})\n`);
  }
  const seconds = Number(process.env['BENCH_EVENT_TIME_SECONDS'] ?? 10);
  const rate = 10_000;
  process.stdout.write(
    `\nevent-time latency: window end (event time) → result at the sink; datagen at ${fmt.format(rate)} records/s with event time = wall clock, 20 keys, 500 ms tumbling count, maxOutOfOrderness 100 ms (the floor), ${seconds} s\n`,
  );
  for (const p of [1, 2]) {
    const m = await eventTimeLatency(p, seconds, rate);
    process.stdout.write(
      `  p=${p}   p50 ${m.p50.toFixed(1)} ms   p99 ${m.p99.toFixed(1)} ms   beyond the bound: p50 ${(m.p50 - m.boundMs).toFixed(1)} ms, p99 ${(m.p99 - m.boundMs).toFixed(1)} ms   ratio to the bound: p50 ${(m.p50 / m.boundMs).toFixed(2)}, p99 ${(m.p99 / m.boundMs).toFixed(2)}   (${m.results} results; source event time ${m.offsetMs.toFixed(1)} ms behind the clock, subtracted)\n`,
    );
  }
}

// As in the runtime: warnings as log lines (stderr), kafkajs's harmless TimeoutNegativeWarning dropped.
routeProcessWarnings(createLogger('warn'));
// `npm run bench -- <name>` is BENCH_ONLY=<name>.
const only = process.argv[2] ?? process.env['BENCH_ONLY'];
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
if (only === 'live-rescale') {
  await liveRescaleBenchmark();
  process.exit(0);
}
if (only === 'event-time') {
  await eventTime();
  process.exit(0);
}
if (only === 'rescale') {
  await operatorRescales();
  process.exit(0);
}
if (only === 'autoscaler') {
  await autoscalerBenchmark();
  process.exit(0);
}
if (only === 'container') {
  await containerBenchmarks();
  process.exit(0);
}
if (only === 'threads') {
  await threadsBenchmarks();
  process.exit(0);
}
if (only === 'kudu') {
  await kuduBenchmarks();
  process.exit(0);
}
if (only === 'slot-memory') {
  await slotMemoryBenchmarks();
  process.exit(0);
}
if (only === 'kafka-idle') {
  await kafkaIdleBenchmarks();
  // Needs the local cluster's registry; prints a skip line when TRIBUTARY_REGISTRY_URL is unset.
  await formatsBenchmark();
  process.exit(0);
}
if (only === 'kafka') {
  await kafkaPathBenchmarks();
  process.exit(0);
}
if (only === 'state') {
  await stateBenchmark();
  process.exit(0);
}
if (only === 'state-throughput') {
  await stateThroughputBenchmark();
  process.exit(0);
}
if (only === 'state-ttl') {
  stateTtlBenchmark();
  process.exit(0);
}
if (only === 'data-plane') {
  await dataPlane();
  process.exit(0);
}
if (only === 'formats') {
  await formatsBenchmark();
  process.exit(0);
}
if (only === 'node-timing') {
  await nodeTimingBenchmark(records, Math.max(rounds, 5));
  process.exit(0);
}
if (only === 'timer-sort') {
  timerSortBenchmark();
  process.exit(0);
}
if (only === 'crc32c') {
  crc32cBenchmark();
  process.exit(0);
}
if (only === 'record-decoder') {
  recordDecoderBenchmark();
  process.exit(0);
}
if (only === 'origins-exchange') {
  originsExchangeBenchmark();
  process.exit(0);
}
await main();
await nodeTimingBenchmark(records, Math.max(rounds, 5));
await functionsVsCel();
await eventTime();
timerSortBenchmark();
crc32cBenchmark();
recordDecoderBenchmark();
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
// Needs the local cluster (Kubernetes + Kafka + S3); prints a skip line otherwise.
await operatorRescales();
// Needs the local cluster (Kubernetes + Kafka); prints a skip line otherwise.
await autoscalerBenchmark();
// Needs the local cluster and root (buildah, podman); the image is built if needed.
await containerBenchmarks();
// Needs the local cluster's Kudu; prints a skip line when TRIBUTARY_KUDU_MASTERS is unset.
await kuduBenchmarks();
// Needs the local cluster's Kafka and a JDK; prints a skip line when TRIBUTARY_KAFKA_BROKERS is unset.
await kafkaPathBenchmarks();
// Needs the local cluster's Kafka and a JDK; prints a skip line when TRIBUTARY_KAFKA_BROKERS is unset.
await liveRescaleBenchmark();
// Both need the local cluster's Kafka; each prints a skip line when TRIBUTARY_KAFKA_BROKERS is unset.
await slotMemoryBenchmarks();
await kafkaIdleBenchmarks();
// Needs the local cluster's registry; prints a skip line when TRIBUTARY_REGISTRY_URL is unset.
await formatsBenchmark();
