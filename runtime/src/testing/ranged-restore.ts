// The ranged-restore scenario, shared by the filesystem (unit) and S3 (integration) tests: a
// windowed job rescaled 2 → 4 → 1 through savepoints under `stateDir`, where the 2 → 4
// restore is done the way one-process-per-slot deployments do it — each new slot loads the
// savepoint with `slots: [i]`, so it fetches only its key groups' byte ranges — and the 4 → 1
// restore needs every key group (whole files). Returns what each load fetched and the output,
// for the caller to compare with an uninterrupted run.
import { TributaryError } from '../errors.ts';
import { createJobExecutor, type JobExecutor } from '../job/job-executor.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { loadRestore, type RestoredState } from '../checkpoint/restore-plan.ts';
import type { FetchStats } from '../checkpoint/state-file-reader.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { childOf } from '../checkpoint/storage/state-uri.ts';
import { keyGroupRangeForSlot } from '../state/key-groups.ts';
import { TransactionalCollectingSink, TransactionStore } from './transactional-sink.ts';
import { keyedWindowGraph } from './keyed-window-graph.ts';

const COUNT = 30_000;
const MAXP = 128;

const spec = (rate: number | undefined): GraphSpec =>
  keyedWindowGraph({ rate, count: COUNT, seed: 11, keys: 2000, windowSize: '10s' });

export const sortedRecords = (recs: unknown[]): string[] =>
  recs.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The output of the same job, uninterrupted, at parallelism 1. */
export async function referenceOutput(): Promise<string[]> {
  const store = new TransactionStore();
  const job = await createJobExecutor(validateGraph(spec(undefined)), {
    parallelism: 1,
    sinkWriter: () => new TransactionalCollectingSink(store),
  });
  await job.run();
  return sortedRecords(store.committed);
}

async function start(
  graph: ValidatedGraph,
  store: TransactionStore,
  parallelism: number,
  stateDir: string,
  restore: { restoreFrom?: string; restored?: RestoredState },
): Promise<{ job: JobExecutor; done: Promise<unknown> }> {
  const job = await createJobExecutor(graph, {
    parallelism,
    maxParallelism: MAXP,
    sinkWriter: () => new TransactionalCollectingSink(store),
    checkpointing: { stateDir, retained: 2, timeoutMs: 20_000 },
    ...restore,
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

export interface RangedRescale {
  /** The savepoint taken at parallelism 2 (restored 2 → 4, slot by slot). */
  sp2: string;
  /** The savepoint taken at parallelism 4 (restored 4 → 1). */
  sp4: string;
  /** What each of the 4 new slots fetched from sp2. */
  perSlot: FetchStats[];
  /** What the parallelism-1 restore fetched from sp4. */
  toOne: FetchStats;
  output: string[];
}

export async function rescaleThroughRanges(stateDir: string): Promise<RangedRescale> {
  const graph = validateGraph(spec(5_000));
  const store = new TransactionStore();
  const a = await start(graph, store, 2, stateDir, {});
  await sleep(300);
  const sp2 = (await a.job.triggerSavepoint({ stop: true })).path;
  await a.done;
  // Each new slot's own load (ranged), then one job running the 4 slots from their union:
  // the slots' key groups are disjoint, so every slot restores exactly what its own load gave it.
  const loads = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      loadRestore(sp2, { graph, parallelism: 4, maxParallelism: MAXP, allowNonRestoredState: false, slots: [i] }),
    ),
  );
  const first = loads[0] as RestoredState;
  const keyed = new Map<string, Uint8Array[]>();
  for (const l of loads) for (const [step, snaps] of l.keyed) keyed.set(step, [...(keyed.get(step) ?? []), ...snaps]);
  const b = await start(graph, store, 4, stateDir, { restored: { ...first, keyed } });
  await sleep(300);
  const sp4 = (await b.job.triggerSavepoint({ stop: true })).path;
  await b.done;
  const toOne = await loadRestore(sp4, { graph, parallelism: 1, maxParallelism: MAXP, allowNonRestoredState: false });
  const c = await start(graph, store, 1, stateDir, { restoreFrom: sp4 });
  await c.done;
  return {
    sp2,
    sp4,
    perSlot: loads.map((l) => l.fetched),
    toOne: toOne.fetched,
    output: sortedRecords(store.committed),
  };
}

/** Loads `savepoint` for `slots` of `parallelism` (what a slot process does at start). */
export function loadForSlots(savepoint: string, parallelism: number, slots?: number[]): Promise<RestoredState> {
  return loadRestore(savepoint, {
    graph: validateGraph(spec(5_000)),
    parallelism,
    maxParallelism: MAXP,
    allowNonRestoredState: false,
    ...(slots ? { slots } : {}),
  });
}

/**
 * Flips one byte inside the section of the last key group with state of old slot 0's file
 * (rewritten in place, same size), and returns the file, the byte range of that section and
 * the slot of 4 that owns the key group.
 */
export async function corruptOneSection(
  savepoint: string,
): Promise<{ file: string; first: number; last: number; slotOfFour: number }> {
  const m = await readMetadata(savepoint);
  const f = Object.values(m.operators)[0]?.keyed.find((k) => k.slot === 0);
  const section = f?.index?.sections.at(-1);
  if (!f || !section) throw new TributaryError('TRIB_INVARIANT', `${savepoint}: no indexed state file of slot 0`);
  const [kg, offset, length] = section;
  const store = stateStoreFor(savepoint);
  const bytes = (await store.read(childOf(savepoint, f.file))) as Uint8Array;
  const copy = new Uint8Array(bytes);
  const at = offset + Math.floor(length / 2);
  copy[at] = (copy[at] as number) ^ 0xff;
  await store.write(childOf(savepoint, f.file), copy);
  const slotOfFour = [0, 1, 2, 3].find((s) => {
    const r = keyGroupRangeForSlot(s, 4, MAXP);
    return kg >= r.start && kg <= r.end;
  }) as number;
  return { file: f.file, first: offset, last: offset + length - 1, slotOfFour };
}
