// The autoscaler on the local cluster (testing/autoscaler-scenario.ts: clicks scored through an
// HTTP call of fixed latency with a per-slot capacity, so a slot's throughput is set by the
// capacity, not by the machine's cores). Two StreamJobs read the same input in the same run:
//   autoscaled  autoscaler in Scale mode, from 1 replica;
//   fixed       the peer: autoscaler in Recommend mode, so it stays at 1 replica and reports
//               what it would do.
// The input rate steps low → high → low. Printed: when each rescale happened, the peak lag and
// the lag at the end of the high phase for both jobs, and their ratio. Written: the figure
// docs/operator/autoscaler-run.svg (input rate, lag, replicas over time), made from this run.
//
// Needs the local cluster (KUBECONFIG, TRIBUTARY_KAFKA_BROKERS, TRIBUTARY_CLUSTER_DIR: eval
// "$(npm run -s cluster -- env)"); skipped with a message otherwise. Env: BENCH_AUTOSCALER_LOW
// and BENCH_AUTOSCALER_HIGH (records/s, default 60 and 350), BENCH_AUTOSCALER_PHASE (seconds per
// phase, default 90). Run alone: npx node bench/autoscaler.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamJobs } from '../operator/src/controllers/streamjob/resource.ts';
import { clicksApp } from '../operator/src/controllers/streamjob/testing/clicks-app-image.ts';
import {
  inputProducer,
  runningWith,
  startHarness,
} from '../operator/src/controllers/streamjob/testing/kafka-job-harness.ts';
import {
  recordTimeline,
  scoredJobSpec,
  scoringService,
  SLOT_RATE,
  SteppedProducer,
  LATENCY_MS,
  type TimelinePoint,
} from '../operator/src/controllers/streamjob/testing/autoscaler-scenario.ts';
import { lineChart } from './svg-plot.ts';

const PARTITIONS = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AutoscalerBenchResult {
  peakLag: { autoscaled: number; fixed: number };
  lagAtEndOfHigh: { autoscaled: number; fixed: number };
  rescales: { t: number; from: number; to: number }[];
  figure: string;
}

export async function autoscalerBenchmark(): Promise<AutoscalerBenchResult | undefined> {
  if (!process.env['TRIBUTARY_KAFKA_BROKERS'] || !process.env['TRIBUTARY_CLUSTER_DIR']) {
    process.stdout.write('autoscaler: skipped (no local cluster: eval "$(npm run -s cluster -- env)")\n');
    return undefined;
  }
  const low = Number(process.env['BENCH_AUTOSCALER_LOW'] ?? 60);
  const high = Number(process.env['BENCH_AUTOSCALER_HIGH'] ?? 350);
  const phaseS = Number(process.env['BENCH_AUTOSCALER_PHASE'] ?? 90);
  const h = await startHarness('bauto', { in: PARTITIONS, out: 1, rec: 1 });
  const scorer = await scoringService(LATENCY_MS);
  const producer = inputProducer(h.kafka);
  await producer.connect();
  const feed = new SteppedProducer(producer, h.topics['in']!, PARTITIONS, low);
  const policy = {
    enabled: true,
    maxReplicas: 6,
    metricsWindow: '15s',
    stabilization: '15s',
    scaleDownDelay: '30s',
    catchUpDuration: '60s',
  };
  try {
    const app = await clicksApp();
    for (const [name, output, mode] of [
      ['autoscaled', h.topics['out']!, 'Scale'],
      ['fixed', h.topics['rec']!, 'Recommend'],
    ] as const) {
      await h.createJob(
        name,
        scoredJobSpec({
          app,
          brokers: h.brokers,
          input: h.topics['in']!,
          output,
          group: `g-${name}-${h.id}`,
          scorerUrl: scorer.url,
          autoscaler: { ...policy, mode },
        }),
      );
    }
    await runningWith(h.kube, h.ns, 'autoscaled', 1, undefined, 180_000);
    await runningWith(h.kube, h.ns, 'fixed', 1, undefined, 180_000);
    const scaled = recordTimeline(h.kube, h.ns, 'autoscaled', feed);
    const fixed = recordTimeline(h.kube, h.ns, 'fixed', feed);
    process.stdout.write(
      `autoscaler: ${low} → ${high} → ${low} records/s, ${phaseS} s each; one slot scores at most ` +
        `${SLOT_RATE} records/s; autoscaled (Scale) vs fixed at 1 replica (Recommend), same input\n`,
    );
    await sleep(phaseS * 1000);
    feed.rate = high;
    await sleep(phaseS * 1000);
    const endOfHigh = scaled.points.at(-1)?.t ?? 0;
    feed.rate = low;
    await sleep(phaseS * 1000);
    const a = await scaled.stop();
    const f = await fixed.stop();
    const lagAt = (pts: TimelinePoint[], t: number) => pts.filter((p) => p.t <= t).at(-1)?.lag ?? NaN;
    const peak = (pts: TimelinePoint[]) => Math.max(0, ...pts.map((p) => p.lag ?? 0));
    const rescales: { t: number; from: number; to: number }[] = [];
    for (let i = 1; i < a.length; i++)
      if (a[i]!.replicas !== a[i - 1]!.replicas)
        rescales.push({ t: a[i]!.t, from: a[i - 1]!.replicas, to: a[i]!.replicas });
    const figure = join(import.meta.dirname, '../docs/operator/autoscaler-run.svg');
    const line = (pts: TimelinePoint[], pick: (p: TimelinePoint) => number | undefined) =>
      pts.flatMap((p) => (pick(p) === undefined ? [] : [[p.t, pick(p)!] as const]));
    writeFileSync(
      figure,
      lineChart(
        `Autoscaler: clicks scored at ≤ ${SLOT_RATE} records/s per slot (npm run bench, BENCH_ONLY=autoscaler)`,
        'seconds',
        [
          {
            title: 'input rate (records/s)',
            series: [{ label: 'input', color: '#444', points: line(a, (p) => p.rate) }],
          },
          {
            title: 'lag (records)',
            series: [
              { label: 'autoscaled', color: '#1f77b4', points: line(a, (p) => p.lag) },
              { label: 'fixed at 1', color: '#d62728', points: line(f, (p) => p.lag), dashed: true },
            ],
          },
          {
            title: 'replicas',
            series: [
              { label: 'spec.replicas', color: '#1f77b4', points: line(a, (p) => p.replicas) },
              { label: 'running', color: '#2ca02c', points: line(a, (p) => p.deployed) },
              { label: 'recommended (fixed)', color: '#d62728', points: line(f, (p) => p.recommended), dashed: true },
            ],
          },
        ],
      ),
    );
    const result: AutoscalerBenchResult = {
      peakLag: { autoscaled: peak(a), fixed: peak(f) },
      lagAtEndOfHigh: { autoscaled: lagAt(a, endOfHigh), fixed: lagAt(f, endOfHigh) },
      rescales,
      figure,
    };
    process.stdout.write(
      `  rescales: ${rescales.map((r) => `${r.from}→${r.to} at ${r.t.toFixed(0)} s`).join(', ') || 'none'}\n` +
        `  peak lag: autoscaled ${result.peakLag.autoscaled}, fixed ${result.peakLag.fixed} ` +
        `(ratio ${(result.peakLag.autoscaled / Math.max(1, result.peakLag.fixed)).toFixed(2)})\n` +
        `  lag at the end of the high phase: autoscaled ${result.lagAtEndOfHigh.autoscaled}, ` +
        `fixed ${result.lagAtEndOfHigh.fixed}\n  figure: docs/operator/autoscaler-run.svg\n`,
    );
    return result;
  } finally {
    await feed.stop();
    await producer.disconnect();
    for (const n of ['autoscaled', 'fixed']) await h.kube.delete(StreamJobs, h.ns, n).catch(() => undefined);
    await scorer.close();
    await h.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await autoscalerBenchmark();
  setTimeout(() => process.exit(0), 500).unref();
}
