// Kudu connectors next to Kudu's own tools on the same cluster, in the same run:
//   * sink: a job (datagen → kudu sink, parallelism 1) upserting N rows into a fresh table, vs
//     `kudu perf loadgen --use_upsert` (the C++ client, one thread) upserting N rows into
//     another fresh table of the same schema and partitioning;
//   * source: a job (kudu source → counting sink, parallelism 1) scanning the loadgen table,
//     vs `kudu perf table_scan` (one thread) over the same table.
// Each side reports rows/s of wall time and the CPU it used (this process's for Tributary, the
// tool process's for the peer, from /usr/bin/time), so also rows per CPU-second: the "per
// core" figure. The tablet server's own work (shared by both sides) is in neither.
//
// Needs the local cluster's Kudu (TRIBUTARY_KUDU_MASTERS: eval "$(npm run -s cluster -- env)");
// skipped with a message otherwise. Env: BENCH_KUDU_ROWS (default 300,000), BENCH_ROUNDS.
// Run alone: BENCH_ONLY=kudu npm run bench
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import { KuduClient } from '../runtime/src/connectors/kudu/client/kudu-client.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import type { Batch } from '../runtime/src/core/batch.ts';
import { clusterPaths } from '../test/cluster/paths.ts';

export interface KuduMeasurement {
  name: string;
  rows: number;
  wallMs: number;
  cpuMs: number;
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const perSecond = (m: KuduMeasurement) => (m.rows * 1000) / m.wallMs;
const perCpuSecond = (m: KuduMeasurement) => (m.rows * 1000) / m.cpuMs;

/** The kudu CLI of the cluster cache with its bundled libraries, timed by /usr/bin/time. */
function runKuduTool(args: string[]): Promise<{ wallMs: number; cpuMs: number; stdout: string }> {
  const home = clusterPaths().kuduHome;
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', 'BENCHTIME %e %U %S', join(home, 'bin', 'kudu'), ...args], {
      env: { ...process.env, LD_LIBRARY_PATH: join(home, 'lib'), SASL_PATH: join(home, 'lib', 'sasl2') },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const m = /BENCHTIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !m) {
        reject(
          new TributaryError(
            'TRIB_CONNECTOR_FAILED',
            `kudu ${args.slice(0, 2).join(' ')} failed (exit ${code}): ${stderr.slice(-500)}`,
          ),
        );
        return;
      }
      resolve({ wallMs: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, stdout });
    });
  });
}

async function timed(name: string, rows: number, run: () => Promise<void>): Promise<KuduMeasurement> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { name, rows, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const columns = [
  { name: 'key', type: 'int64' as const, key: true },
  { name: 'int_val', type: 'int32' as const },
  { name: 'string_val', type: 'string' as const },
];

async function sinkJob(masters: string, table: string, rows: number, batchSize: number): Promise<void> {
  const g: GraphSpec = {
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          count: rows,
          fields: {
            key: { type: 'sequence' },
            int_val: { type: 'int', min: 0, max: 1_000_000 },
            string_val: { type: 'string', prefix: 'value-of-the-row-', cardinality: 1_000_000 },
          },
        },
      },
    ],
    sinks: [{ name: 'out', from: 'gen', kudu: { masters, table, batchSize } }],
  };
  const job = await createJobExecutor(validateGraph(g), { parallelism: 1, logger: pino({ level: 'warn' }) });
  const r = await job.run();
  if (r.state !== 'FINISHED') throw new TributaryError('TRIB_JOB_FAILED', `sink job ended ${r.state}`);
}

async function scanJob(masters: string, table: string): Promise<number> {
  let n = 0;
  const counting: SinkWriter = {
    backpressured: false,
    open: () => Promise.resolve(),
    write: (b: Batch) => void (n += b.n),
    close: () => Promise.resolve(),
  };
  const g: GraphSpec = {
    sources: [{ name: 'scan', kudu: { masters, table } }],
    sinks: [{ name: 'out', from: 'scan', console: {} }],
  };
  const job = await createJobExecutor(validateGraph(g), {
    parallelism: 1,
    logger: pino({ level: 'warn' }),
    sinkWriter: () => counting,
  });
  const r = await job.run();
  if (r.state !== 'FINISHED') throw new TributaryError('TRIB_JOB_FAILED', `scan job ended ${r.state}`);
  return n;
}

function row(m: KuduMeasurement): string {
  return `  ${m.name.padEnd(34)} ${fmt.format(perSecond(m)).padStart(9)} rows/s   ${fmt.format(perCpuSecond(m)).padStart(9)} rows per CPU-s   (${fmt.format(m.wallMs)} ms wall, ${fmt.format(m.cpuMs)} ms CPU = ${(m.cpuMs / m.wallMs).toFixed(2)} cores)`;
}

function best(ms: KuduMeasurement[]): KuduMeasurement {
  return ms.reduce((a, b) => (perCpuSecond(b) > perCpuSecond(a) ? b : a));
}

export async function kuduBenchmarks(): Promise<void> {
  const masters = process.env['TRIBUTARY_KUDU_MASTERS'];
  const rows = Number(process.env['BENCH_KUDU_ROWS'] ?? 300_000);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  // Loadgen buffers 4 MiB of mutations per session (tens of thousands of these rows) before a flush.
  const batchSize = Number(process.env['BENCH_KUDU_BATCH'] ?? 5000);
  process.stdout.write(
    `\nkudu: sink upserts vs kudu perf loadgen --use_upsert, source scan vs kudu perf table_scan; ${fmt.format(rows)} rows (int64 key, int32, string), 4 hash partitions, 1 replica, sink batchSize ${batchSize}, best of ${rounds}\n`,
  );
  if (!masters) {
    process.stdout.write(
      '  skipped: no Kudu (TRIBUTARY_KUDU_MASTERS unset: start the local cluster with --with kudu and eval its env)\n',
    );
    return;
  }
  if (!existsSync(join(clusterPaths().kuduHome, 'bin', 'kudu'))) {
    process.stdout.write(`  skipped: the kudu CLI is not in the cluster cache (${clusterPaths().kuduHome})\n`);
    return;
  }
  const probe = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 5_000 });
  const down = await probe.openTable('bench_kudu_probe').then(
    () => undefined,
    (e: unknown) => (e instanceof TributaryError && e.code === 'TRIB_KUDU_TABLE_NOT_FOUND' ? undefined : String(e)),
  );
  await probe.close();
  if (down) {
    process.stdout.write(`  skipped: Kudu at ${masters} does not answer (${down})\n`);
    return;
  }
  const client = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 60_000 });
  const created: string[] = [];
  const freshTable = async (): Promise<string> => {
    const name = `bench_kudu_${randomUUID().slice(0, 8)}`;
    await client.createTable({ name, columns, hashPartitions: [{ columns: ['key'], buckets: 4 }], replicas: 1 });
    created.push(name);
    return name;
  };
  try {
    const trib: KuduMeasurement[] = [];
    const peer: KuduMeasurement[] = [];
    const tribScan: KuduMeasurement[] = [];
    const peerScan: KuduMeasurement[] = [];
    await sinkJob(masters, await freshTable(), 20_000, batchSize); // warm-up (JIT, connections)
    for (let r = 0; r < rounds; r++) {
      const t = await freshTable();
      trib.push(await timed('tributary kudu sink (upsert)', rows, () => sinkJob(masters, t, rows, batchSize)));
      const p = await freshTable();
      const lg = await runKuduTool([
        'perf',
        'loadgen',
        masters,
        `--table_name=${p}`,
        '--num_threads=1',
        `--num_rows_per_thread=${rows}`,
        '--use_upsert',
        '--run_scan=false',
      ]);
      peer.push({ name: 'kudu perf loadgen (1 thread)', rows, wallMs: lg.wallMs, cpuMs: lg.cpuMs });
      let scanned = 0;
      const s = await timed('tributary kudu source (scan)', rows, async () => {
        scanned = await scanJob(masters, p);
      });
      if (scanned !== rows) throw new TributaryError('TRIB_INVARIANT', `the scan job read ${scanned} rows of ${rows}`);
      tribScan.push(s);
      const ts = await runKuduTool(['perf', 'table_scan', masters, p, '--num_threads=1']);
      peerScan.push({ name: 'kudu perf table_scan (1 thread)', rows, wallMs: ts.wallMs, cpuMs: ts.cpuMs });
    }
    const [t, p, ts, ps] = [best(trib), best(peer), best(tribScan), best(peerScan)];
    process.stdout.write(`${[row(t), row(p)].join('\n')}\n`);
    process.stdout.write(
      `  sink ratio tributary / loadgen: ${(perCpuSecond(t) / perCpuSecond(p)).toFixed(2)} per CPU-second (target ≥ 0.5: ${perCpuSecond(t) / perCpuSecond(p) >= 0.5 ? 'met' : 'NOT met'}), ${(perSecond(t) / perSecond(p)).toFixed(2)} in wall time\n`,
    );
    process.stdout.write(`${[row(ts), row(ps)].join('\n')}\n`);
    process.stdout.write(
      `  scan ratio tributary / table_scan: ${(perCpuSecond(ts) / perCpuSecond(ps)).toFixed(2)} per CPU-second, ${(perSecond(ts) / perSecond(ps)).toFixed(2)} in wall time\n`,
    );
  } finally {
    for (const name of created) await client.deleteTable(name).catch(() => undefined);
    await client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await kuduBenchmarks();
