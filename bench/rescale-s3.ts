// Rescale downtime with state on S3 next to the local filesystem, in the same run: the
// runtime's part of the 100k-key rescale of rescale-downtime.ts — a job holding BENCH_RESCALE_KEYS
// (default 100,000) keys of 1 h window state while BENCH_RESCALE_S3_RATE (default 20,000)
// records/s flow (datagen, each record a new key, echoed to an output sink), stopped with a
// savepoint at parallelism 2 and restored at 3 the way three slot processes restore (each
// loads the savepoint for its own slot: ranged reads), concurrently in this process.
// Downtime = last output record of the old job → first output record of the new one.
// Not measured here: what the operator and Kubernetes add around it (pods, scheduling) — that
// is rescale-downtime.ts, on the local cluster, with state on a volume.
// The S3 server: the local cluster's, or one of its own (s3-server.ts).
// Run alone: BENCH_ONLY=s3-rescale npm run bench
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRestore, type RestoredState } from '../runtime/src/checkpoint/restore-plan.ts';
import type { FetchStats } from '../runtime/src/checkpoint/state-file-reader.ts';
import { stateStoreFor } from '../runtime/src/checkpoint/storage/state-store-for.ts';
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import type { ValidatedGraph } from '../runtime/src/graph/validate.ts';
import type { Batch } from '../runtime/src/core/batch.ts';
import { benchS3 } from './s3-server.ts';

const MAXP = 128;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function graph(rate: number): GraphSpec {
  return {
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          seed: 5,
          rate,
          startTime: 1_700_000_000_000,
          eventRate: 10_000_000,
          fields: { id: { type: 'sequence' }, v: { type: 'int', min: 0, max: 9 }, ts: { type: 'timestamp' } },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'by-id', from: 'gen', keyBy: 'id' },
      { name: 'hour', from: 'by-id', window: { tumbling: { size: '1h' } } },
      { name: 'hourly', from: 'hour', aggregate: { n: 'count()' } },
      { name: 'echo', from: 'gen', map: { id: 'id', ts: 'ts' } },
    ],
    sinks: [
      { name: 'hourly-out', from: 'hourly', console: {} },
      { name: 'out', from: 'echo', console: {} },
    ],
  };
}

/** When records reached the `out` sink (first and last write, over all slots). */
class Arrivals {
  first: number | undefined;
  last = 0;
  writer(spec: { name: string }): SinkWriter {
    const seen = (n: number): void => {
      if (spec.name !== 'out' || n === 0) return;
      const now = performance.now();
      this.first ??= now;
      this.last = now;
    };
    return {
      backpressured: false,
      open: () => Promise.resolve(),
      write: (b: Batch) => seen(b.n),
      close: () => Promise.resolve(),
    };
  }
}

interface Measured {
  where: string;
  keys: number;
  savepointBytes: number;
  savepointMs: number;
  /** The three slots' loads (concurrent), ms. */
  loadMs: number;
  downtimeMs: number;
  fetched: FetchStats[];
}

async function measure(where: string, stateDir: string, g: ValidatedGraph, keys: number): Promise<Measured> {
  const before = new Arrivals();
  const a = await createJobExecutor(g, {
    parallelism: 2,
    maxParallelism: MAXP,
    sinkWriter: (s) => before.writer(s),
    checkpointing: { stateDir },
  });
  const aDone = a.run();
  // Records flow at `rate` from the start: the stop lands in a steady flow once the state holds `keys` keys.
  while (a.status().recordsIn < keys) await sleep(20);
  const sp = await a.triggerSavepoint({ stop: true });
  await aDone;
  const inState = a.status().recordsIn;
  const t0 = performance.now();
  const loads = await Promise.all(
    [0, 1, 2].map((i) =>
      loadRestore(sp.path, {
        graph: g,
        parallelism: 3,
        maxParallelism: MAXP,
        allowNonRestoredState: false,
        slots: [i],
      }),
    ),
  );
  const loadMs = performance.now() - t0;
  const keyed = new Map<string, Uint8Array[]>();
  for (const l of loads) for (const [step, snaps] of l.keyed) keyed.set(step, [...(keyed.get(step) ?? []), ...snaps]);
  const after = new Arrivals();
  const b = await createJobExecutor(g, {
    parallelism: 3,
    maxParallelism: MAXP,
    sinkWriter: (s) => after.writer(s),
    checkpointing: { stateDir },
    restored: { ...(loads[0] as RestoredState), keyed },
  });
  const bDone = b.run();
  while (after.first === undefined) await sleep(5);
  b.stop();
  await bDone;
  return {
    where,
    keys: inState,
    savepointBytes: sp.stateSize,
    savepointMs: sp.durationMs,
    loadMs,
    downtimeMs: (after.first as number) - before.last,
    fetched: loads.map((l) => l.fetched),
  };
}

export async function rescaleDowntimeOnS3(): Promise<void> {
  const keys = Number(process.env['BENCH_RESCALE_KEYS'] ?? 100_000);
  const rate = Number(process.env['BENCH_RESCALE_S3_RATE'] ?? 20_000);
  process.stdout.write(
    `\nrescale downtime, runtime part: ${keys} keys of window state, stop-with-savepoint at parallelism 2 → restore at 3 (each new slot loads its own key groups), ${rate} records/s; S3 next to the local filesystem\n`,
  );
  const s3 = await benchS3();
  if (typeof s3 === 'string') {
    process.stdout.write(`  skipped: ${s3}\n`);
    return;
  }
  const local = await mkdtemp(join(tmpdir(), 'trib-bench-rescale-'));
  const remote = `s3://${s3.bucket}/bench-rescale-${randomUUID().slice(0, 8)}`;
  try {
    const g = validateGraph(graph(rate));
    const fs = await measure('local filesystem', local, g, keys);
    const s = await measure(`S3 (${s3.endpoint})`, remote, g, keys);
    for (const m of [fs, s]) {
      const read = m.fetched.reduce((x, f) => x + f.bytesRead, 0);
      process.stdout.write(
        `  ${m.where.padEnd(36)} downtime ${m.downtimeMs.toFixed(0).padStart(6)} ms   (savepoint ${m.savepointMs.toFixed(0)} ms of ${(m.savepointBytes / 1e6).toFixed(1)} MB, ${m.keys} keys; 3 slot loads ${m.loadMs.toFixed(0)} ms, ${(read / 1e6).toFixed(1)} MB read in ${m.fetched.reduce((x, f) => x + f.requests, 0)} requests)\n`,
      );
    }
    process.stdout.write(
      `  ratio S3 / filesystem: downtime ${(s.downtimeMs / fs.downtimeMs).toFixed(2)}, savepoint ${(s.savepointMs / fs.savepointMs).toFixed(2)}, restore loads ${(s.loadMs / fs.loadMs).toFixed(2)}  (target < 5 s downtime on S3: ${s.downtimeMs < 5000 ? 'met' : 'NOT met'})\n`,
    );
  } finally {
    await stateStoreFor(local).removeTree(local);
    await stateStoreFor(remote).removeTree(remote);
    await s3.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await rescaleDowntimeOnS3();
