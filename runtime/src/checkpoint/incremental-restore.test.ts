// Incremental checkpoints under crashes: a job with a rolling aggregate, a windowed aggregate and
// a dedupe (each its own keyed state, windows with their timers) crashes at random moments and
// restores from the latest checkpoint at another parallelism, several times; its committed output
// equals an uninterrupted run's. The checkpoints it restored from are chains of deltas (and, once
// chains grew, compacted bases), so a delta that missed a change, a removal, or a file of the
// chain would show as a wrong or missing result.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from './coordinator.ts';
import type { CheckpointMetadata } from './metadata.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { createJobExecutor } from '../job/job-executor.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';

const COUNT = 40_000;

function graph(rate: number | undefined): GraphSpec {
  return {
    sources: [
      {
        name: 'events',
        datagen: {
          generator: 'schema',
          seed: 5,
          count: COUNT,
          ...(rate ? { rate } : {}),
          startTime: 1_700_000_000_000,
          eventRate: 1000,
          fields: {
            id: { type: 'sequence' },
            k: { type: 'string', prefix: 'k', cardinality: 3000 },
            v: { type: 'int', min: 0, max: 100 },
            ts: { type: 'timestamp' },
          },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '2s' },
      },
    ],
    steps: [
      { name: 'by-k', from: 'events', keyBy: 'k' },
      { name: 'running', from: 'by-k', aggregate: { n: 'count()', total: 'sum(v)' } },
      { name: 'w', from: 'by-k', window: { tumbling: { size: '5s' }, allowedLateness: '3s' } },
      { name: 'per-window', from: 'w', aggregate: { n: 'count()', top: 'max(v)' } },
      { name: 'first', from: 'by-k', dedupe: { within: '3s' } },
    ],
    sinks: [
      { name: 'out-running', from: 'running', console: {} },
      { name: 'out-window', from: 'per-window', console: {} },
      { name: 'out-first', from: 'first', console: {} },
    ],
  };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sorted = (recs: unknown[]): string[] => recs.map((r) => JSON.stringify(r)).sort();

async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-incr-'));
  dirs.push(d);
  return d;
}

async function start(
  rate: number | undefined,
  store: TransactionStore,
  parallelism: number,
  dir: string,
  restoreFrom?: string,
) {
  const job = await createJobExecutor(validateGraph(graph(rate)), {
    parallelism,
    maxParallelism: 64,
    sinkWriter: () => new TransactionalCollectingSink(store),
    checkpointing: { stateDir: dir, intervalMs: 40, retained: 2, timeoutMs: 20_000 },
    restoreFrom,
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

/** Per key of the rolling aggregate: its counts in order, and the total at the highest count. */
function runningSummary(recs: readonly unknown[]): Record<string, { counts: number[]; final: number }> {
  const out: Record<string, { counts: number[]; final: number }> = {};
  for (const r of recs as { k?: string; n?: number; total?: number }[]) {
    if (r.total === undefined || r.k === undefined || r.n === undefined) continue;
    const e = (out[r.k] ??= { counts: [], final: 0 });
    e.counts.push(r.n);
    if (r.n === Math.max(...e.counts)) e.final = r.total;
  }
  for (const e of Object.values(out)) e.counts.sort((a, b) => a - b);
  return out;
}

/** Every file name in the checkpoint folders under `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const folders = await readdir(join(dir, 'checkpoints'));
  return (await Promise.all(folders.map((f) => readdir(join(dir, 'checkpoints', f))))).flat();
}

const metadataOf = async (path: string): Promise<CheckpointMetadata> =>
  JSON.parse(await readFile(join(path, '_metadata.json'), 'utf8')) as CheckpointMetadata;

describe('incremental checkpoints', () => {
  it('crashes at random moments, restores chains of deltas at 2, 3 and 1: same output as an uninterrupted run', async () => {
    const refStore = new TransactionStore();
    const ref = await start(undefined, refStore, 1, await temp());
    await ref.done;
    expect(refStore.committed.length).toBeGreaterThan(COUNT);

    const store = new TransactionStore();
    const dir = await temp();
    let restoreFrom: string | undefined;
    const restored: CheckpointMetadata[] = [];
    const written = new Set<string>();
    const compactions: Record<string, number> = { ok: 0, failed: 0 };
    let compactedBytes = 0;
    for (let round = 0; round < 3; round++) {
      const r = await start(12_000, store, 2 + (round % 2), dir, restoreFrom);
      // Several of this round's own checkpoints first: the first is full, the next are deltas.
      const first = r.job.status().lastCheckpoint?.id;
      while ((r.job.status().lastCheckpoint?.id ?? 0) < (first ?? 0) + 7) await sleep(10);
      await sleep(Math.floor(Math.random() * 60));
      for (const v of (await r.job.metrics.compactions.get()).values) {
        const outcome = String(v.labels.outcome);
        compactions[outcome] = (compactions[outcome] ?? 0) + v.value;
      }
      for (const v of (await r.job.metrics.compactedBytes.get()).values) compactedBytes += v.value;
      r.job.crash();
      await expect(r.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      restoreFrom = (await latestCheckpointPath(dir)) ?? restoreFrom;
      if (restoreFrom) restored.push(await metadataOf(restoreFrom));
      // What the crashed round left on disk (the last run ends with whole final snapshots, and
      // retention then removes the chains: listing only at the end would find none).
      for (const n of await filesUnder(dir)) written.add(n);
    }
    const last = await start(undefined, store, 1, dir, restoreFrom);
    await last.done;
    // Windows and dedupe decide by event time: their output is the reference's exactly. A rolling
    // aggregate's intermediate results depend on how the slots' records interleave, so per key:
    // each count once (none lost, none twice) and the final total the reference's.
    const rolling = (r: unknown): boolean => typeof r === 'object' && r !== null && 'total' in r;
    expect(sorted(store.committed.filter((r) => !rolling(r)))).toEqual(
      sorted(refStore.committed.filter((r) => !rolling(r))),
    );
    expect(runningSummary(store.committed)).toEqual(runningSummary(refStore.committed));

    // What was restored were incremental checkpoints: deltas on bases in older folders.
    const handles = restored.flatMap((m) => Object.values(m.operators).flatMap((o) => o.keyed));
    // (A checkpoint may also be whole: the first of a run, or a chain at its longest.)
    expect(restored.some((m) => m.formatVersion === 2)).toBe(true);
    expect(handles.some((h) => (h.deltas?.length ?? 0) > 0 && h.from !== undefined)).toBe(true);
    for (const m of restored.filter((x) => x.formatVersion === 2)) expect(m.fullStateSize).toBeGreaterThan(m.stateSize);
    // Chains were compacted in the background and later checkpoints built on the compacted base.
    const names = [...written];
    expect(names.some((n) => n.endsWith('.kdelta'))).toBe(true);
    expect(
      handles.some((h) => /\.base-\d+\.kstate$/.test(h.file)) || names.some((n) => /\.base-\d+\.kstate$/.test(n)),
    ).toBe(true);
    // And the metrics said so: compactions that succeeded, and the bytes they wrote.
    expect(compactions).toMatchObject({ failed: 0 });
    expect(compactions.ok).toBeGreaterThan(0);
    expect(compactedBytes).toBeGreaterThan(0);
  }, 120_000);
});
