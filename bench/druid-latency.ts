// Event produced → visible in a Druid SQL result, through Tributary's exactly-once druid
// sink with 10 s checkpoints, next to a peer measured in the same run: the same events
// produced straight to a second datasource's topic (Druid's own Kafka ingest latency).
//
//   kafka topic in → JobExecutor (kafka source → map → druid sink, checkpoints every 10 s)
//                  → topic trib (transactions) → supervisor (read_committed) → bench_trib_*
//   the same events → topic peer (plain producer) → supervisor → bench_peer_*
// Each event carries its id and send time; both datasources are polled with Druid SQL and
// an event's latency is (first poll that returns it) − (send time). No rollup: one row per
// event. Expect Tributary ≈ peer + up to one checkpoint interval (records become visible
// only when their checkpoint's transaction commits).
//
// Needs the local cluster (TRIBUTARY_DRUID_URL, TRIBUTARY_KAFKA_BROKERS: eval "$(npm run -s
// cluster -- env)"); skipped with a message otherwise. Env: BENCH_DRUID_EVENTS (default 300),
// BENCH_DRUID_RATE (events/s, default 10), BENCH_DRUID_CHECKPOINT (default 10s).
// Run alone: npx node bench/druid-latency.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { DruidClient } from '../operator/src/druid/client.ts';
import { desiredSupervisorSpec } from '../operator/src/controllers/druiddatasource/supervisor-spec.ts';
import type { DruidDatasource } from '../operator/src/api/v1alpha1/druiddatasource.ts';
import { runDruidSql } from '../runtime/src/connectors/druid/druid-sql.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import { parseDuration } from '../runtime/src/graph/duration.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { ClusterError } from '../test/cluster/errors.ts';

export interface LatencyResult {
  name: string;
  seen: number;
  p50: number;
  p99: number;
  max: number;
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function datasource(
  name: string,
  topic: string,
  brokers: string,
  url: string,
): Pick<DruidDatasource, 'metadata' | 'spec'> {
  return {
    metadata: { name, namespace: 'bench', uid: name } as DruidDatasource['metadata'],
    spec: {
      druid: { url },
      dataSource: name,
      kafka: { bootstrapServers: brokers, topic },
      timestamp: { column: 'sentAt', format: 'millis' },
      dimensions: ['id'],
      metrics: [],
      granularity: { segment: 'HOUR', query: 'NONE', rollup: false },
      ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
      suspend: false,
      deletionPolicy: 'Terminate',
    },
  };
}

export async function druidLatency(): Promise<LatencyResult[] | undefined> {
  const url = process.env['TRIBUTARY_DRUID_URL'];
  const brokers = process.env['TRIBUTARY_KAFKA_BROKERS'];
  process.stdout.write('\ndruid end-to-end latency: event produced → visible in Druid SQL\n');
  if (!url || !brokers) {
    process.stdout.write(
      '  skipped: TRIBUTARY_DRUID_URL / TRIBUTARY_KAFKA_BROKERS unset (start the local cluster and eval "$(npm run -s cluster -- env)")\n',
    );
    return undefined;
  }
  const events = Number(process.env['BENCH_DRUID_EVENTS'] ?? 300);
  const rate = Number(process.env['BENCH_DRUID_RATE'] ?? 10);
  const cpText = process.env['BENCH_DRUID_CHECKPOINT'] ?? '10s';
  const cpMs = parseDuration(cpText) ?? 10_000;
  const id = Date.now().toString(36);
  const input = `bench-druid-in-${id}`;
  const names = { trib: `bench_trib_${id}`, peer: `bench_peer_${id}` };
  const kafka = new Kafka({ clientId: 'bench-druid', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [input, names.trib, names.peer].map((topic) => ({ topic, numPartitions: 1 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const druid = new DruidClient({ url });
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-druid-'));
  const producer = kafka.producer();
  let job: Awaited<ReturnType<typeof createJobExecutor>> | undefined;
  let running: Promise<unknown> | undefined;
  try {
    for (const n of Object.values(names))
      await druid.upsertSupervisor(desiredSupervisorSpec(datasource(n, n, brokers, url)));
    const graph = validateGraph({
      sources: [{ name: 'in', kafka: { brokers, topic: input, groupId: `bench-${id}`, startFrom: 'earliest' } }],
      steps: [{ name: 'rows', from: 'in', map: { id: 'id', sentAt: 'sentAt' } }],
      sinks: [
        {
          name: 'druid',
          from: 'rows',
          druid: {
            datasourceRef: 'bench',
            kafka: { brokers, topic: names.trib },
            timestamp: { column: 'sentAt', format: 'millis' },
          },
        },
      ],
    });
    job = await createJobExecutor(graph, {
      parallelism: 1,
      jobName: `bench-druid-${id}`,
      logger: pino({ level: 'error' }),
      checkpointing: { stateDir, intervalMs: cpMs },
    });
    running = job.run();
    await producer.connect();
    // Wait until both supervisors run a task (the first segment of a new datasource takes a while).
    const warm = Date.now();
    await producer.send({
      topic: names.peer,
      messages: [{ value: JSON.stringify({ id: 'warmup', sentAt: Date.now() }) }],
    });
    await producer.send({ topic: input, messages: [{ value: JSON.stringify({ id: 'warmup', sentAt: Date.now() }) }] });
    for (;;) {
      const ok = await Promise.all(
        Object.values(names).map((n) =>
          runDruidSql({ url, query: `SELECT COUNT(*) AS n FROM "${n}"`, timeoutMs: 10_000, who: 'bench' }).then(
            (r) => Number(r[0]?.['n']) > 0,
            () => false,
          ),
        ),
      );
      if (ok.every(Boolean)) break;
      if (Date.now() - warm > 180_000)
        throw new ClusterError('CLUSTER_NOT_READY', 'druid', 'did not show the warm-up rows within 3 min');
      await new Promise((r) => setTimeout(r, 500));
    }
    process.stdout.write(
      `  ${events} events at ${rate}/s, checkpoints every ${cpText}; warm-up (supervisor tasks up) took ${((Date.now() - warm) / 1000).toFixed(1)}s\n`,
    );

    const sentAt = new Map<string, number>();
    const seen = { trib: new Map<string, number>(), peer: new Map<string, number>() };
    let producing = true;
    let lastSend = Date.now();
    const poll = async (): Promise<void> => {
      while (producing || seen.trib.size < events || seen.peer.size < events) {
        for (const k of ['trib', 'peer'] as const) {
          const rows = await runDruidSql({
            url,
            query: `SELECT id FROM "${names[k]}" WHERE id <> 'warmup'`,
            timeoutMs: 10_000,
            who: 'bench',
          }).catch(() => []);
          const now = Date.now();
          for (const r of rows) {
            const i = String(r['id']);
            if (!seen[k].has(i)) seen[k].set(i, now);
          }
        }
        if (!producing && Date.now() - lastSend > 3 * cpMs + 60_000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const polling = poll();
    for (let i = 0; i < events; i++) {
      const t = Date.now();
      const v = JSON.stringify({ id: `e${i}`, sentAt: t });
      sentAt.set(`e${i}`, t);
      await Promise.all([
        producer.send({ topic: input, messages: [{ value: v }] }),
        producer.send({ topic: names.peer, messages: [{ value: v }] }),
      ]);
      lastSend = Date.now();
      const next = t + 1000 / rate;
      if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
    }
    producing = false;
    await polling;
    const results: LatencyResult[] = (['trib', 'peer'] as const).map((k) => {
      const lat = [...seen[k]].map(([i, at]) => at - (sentAt.get(i) ?? at)).sort((a, b) => a - b);
      return {
        name: k === 'trib' ? `tributary (druid sink, ${cpText} cp)` : 'peer: direct to topic',
        seen: lat.length,
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        max: lat[lat.length - 1] ?? NaN,
      };
    });
    for (const r of results) {
      process.stdout.write(
        `  ${r.name.padEnd(34)} p50 ${String(Math.round(r.p50)).padStart(6)} ms   p99 ${String(Math.round(r.p99)).padStart(6)} ms   max ${String(Math.round(r.max)).padStart(6)} ms   (${r.seen}/${events} seen)\n`,
      );
    }
    const [t, p] = results as [LatencyResult, LatencyResult];
    process.stdout.write(
      `  tributary − peer: p50 +${Math.round(t.p50 - p.p50)} ms, p99 +${Math.round(t.p99 - p.p99)} ms (one checkpoint interval = ${cpMs} ms)\n`,
    );
    return results;
  } finally {
    await producer.disconnect().catch(() => undefined);
    job?.stop();
    await running?.catch(() => undefined);
    for (const n of Object.values(names)) {
      await druid.terminate(n).catch(() => undefined);
      await druid.shutdownTasks(n).catch(() => undefined);
    }
    await druid.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await druidLatency();
  setTimeout(() => process.exit(0), 500).unref();
}
