// Checkpoints and savepoints in the in-process runtime: stop-with-savepoint and restore at
// another parallelism (2 → 3 → 1) gives exactly the output of an uninterrupted run, with a
// transactional test sink; a crash restores from the latest checkpoint; broken savepoints
// are refused with stable codes.
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobExecutor, type JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { writeSnapshotV1 } from '../state/snapshot-format-v1.ts';
import { readSnapshotEntries } from '../state/snapshot-format.ts';
import { sha256Hex } from './checkpoint-storage.ts';
import { latestCheckpointPath } from './coordinator.ts';
import { keyedWindowGraph } from '../testing/keyed-window-graph.ts';
import { retainedFiles } from '../testing/retained-files.ts';

const COUNT = 30_000;

const spec = (rate: number | undefined, windowStep = 'per-key'): GraphSpec =>
  keyedWindowGraph({ rate, count: COUNT, seed: 7, keys: 97, windowSize: '5s', windowStep, withId: true });

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-ckpt-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function sorted(recs: unknown[]): string[] {
  return recs.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
}

async function reference(): Promise<string[]> {
  const store = new TransactionStore();
  const job = await createJobExecutor(validateGraph(spec(undefined)), {
    parallelism: 1,
    sinkWriter: () => new TransactionalCollectingSink(store),
  });
  await job.run();
  return sorted(store.committed);
}

async function startJob(
  graph: ValidatedGraph,
  store: TransactionStore,
  parallelism: number,
  stateDir: string,
  restoreFrom?: string,
  intervalMs?: number,
): Promise<{ job: JobExecutor; done: Promise<unknown> }> {
  const job = await createJobExecutor(graph, {
    parallelism,
    maxParallelism: 128,
    sinkWriter: () => new TransactionalCollectingSink(store),
    checkpointing: { stateDir, intervalMs, retained: 2, timeoutMs: 20_000 },
    restoreFrom,
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('checkpoints and savepoints (in-process)', () => {
  it('stop-with-savepoint, restore at 3, savepoint, restore at 1: same output as an uninterrupted run', async () => {
    const ref = await reference();
    expect(ref.length).toBeGreaterThan(100);
    // 5,000 records/s: 6 s of input, so the first stop lands mid-stream even on a loaded machine.
    const graph = validateGraph(spec(5_000));
    const store = new TransactionStore();
    const stateDir = await tempDir();

    const a = await startJob(graph, store, 2, stateDir);
    await sleep(300);
    const sp1 = await a.job.triggerSavepoint({ stop: true });
    expect(((await a.done) as { state: string }).state).toBe('STOPPED');
    expect(a.job.status().recordsIn).toBeLessThan(COUNT);

    const b = await startJob(graph, store, 3, stateDir, sp1.path);
    await sleep(300);
    const sp2 = await b.job.triggerSavepoint({ stop: false });
    expect(sp2.id).toBeGreaterThan(sp1.id);
    await sleep(100);
    const sp3 = await b.job.triggerSavepoint({ stop: true });
    await b.done;

    const c = await startJob(graph, store, 1, stateDir, sp3.path);
    await c.done;
    expect(store.prepared.size).toBe(0);
    expect(sorted(store.committed)).toEqual(ref);

    const meta = JSON.parse(await readFile(join(sp3.path, '_metadata.json'), 'utf8')) as {
      parallelism: number;
      operators: Record<string, { keyed: unknown[] }>;
    };
    expect(meta.parallelism).toBe(3);
    expect(meta.operators['per-key']?.keyed.length).toBe(3);
  }, 60_000);

  it('restores a savepoint whose state files are keyed-state version 1 (JSON lines) at another parallelism', async () => {
    const ref = await reference();
    const graph = validateGraph(spec(20_000));
    const store = new TransactionStore();
    const stateDir = await tempDir();
    const a = await startJob(graph, store, 2, stateDir);
    await sleep(300);
    const sp = await a.job.triggerSavepoint({ stop: true });
    await a.done;
    // Rewrite it as the previous runtime would have: v1 state files, keyedStateFormatVersion 1,
    // no key-group index (so they are read whole).
    const metaPath = join(sp.path, '_metadata.json');
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as {
      keyedStateFormatVersion: number;
      operators: Record<string, { keyed: { file: string; size: number; sha256: string; index?: unknown }[] }>;
    };
    expect(meta.keyedStateFormatVersion).toBe(2);
    let timers = 0;
    for (const op of Object.values(meta.operators)) {
      for (const f of op.keyed) {
        const { header, groups } = readSnapshotEntries(await readFile(join(sp.path, f.file)));
        const { version: _v, ...rest } = header;
        for (const [, es] of groups) timers += es.filter((e) => e.state === 'timers').length;
        const v1 = writeSnapshotV1(rest, groups);
        await writeFile(join(sp.path, f.file), v1);
        f.size = v1.length;
        f.sha256 = sha256Hex(v1);
        delete f.index;
      }
    }
    expect(timers).toBeGreaterThan(0);
    meta.keyedStateFormatVersion = 1;
    await writeFile(metaPath, JSON.stringify(meta));
    const c = await startJob(graph, store, 3, stateDir, sp.path);
    await c.done;
    expect(sorted(store.committed)).toEqual(ref);
  }, 60_000);

  it('crash at random moments, restore from the latest checkpoint: same output', async () => {
    const ref = await reference();
    const graph = validateGraph(spec(15_000));
    const store = new TransactionStore();
    const stateDir = await tempDir();
    let restoreFrom: string | undefined;
    for (let round = 0; round < 3; round++) {
      const r = await startJob(graph, store, 2 + (round % 2), stateDir, restoreFrom, 60);
      // Each round crashes after one of its own checkpoints completed (an event, not a wall-clock
      // guess: a loaded machine may take seconds for the first), at a random moment after it.
      const before = restoreFrom;
      while ((r.job.status().lastCheckpoint?.path ?? before) === before) await sleep(10);
      await sleep(Math.floor(Math.random() * 150));
      r.job.crash();
      await expect(r.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      restoreFrom = await latestCheckpointPath(stateDir);
    }
    expect(restoreFrom).toBeDefined();
    const last = await startJob(graph, store, 2, stateDir, restoreFrom, 60);
    await last.done;
    expect(sorted(store.committed)).toEqual(ref);
    // Retention is per file (incremental checkpoints share their bases): retained 2 completed
    // checkpoints, older folders hold only files those reference (but one possibly abandoned).
    // The pruning after the final checkpoint runs in the background, not awaited by the job's end.
    await expect
      .poll(async () => {
        const left = await retainedFiles(stateDir);
        return left.complete.length <= 2 && left.leftoverFolders.length <= 1;
      })
      .toBe(true);
  }, 60_000);

  describe('refuses a savepoint that does not fit, with a stable code', () => {
    let sp = '';
    const graph = validateGraph(spec(20_000));
    const make = async (): Promise<string> => {
      if (sp) return sp;
      const r = await startJob(graph, new TransactionStore(), 2, await tempDir());
      await sleep(150);
      sp = (await r.job.triggerSavepoint({ stop: true })).path;
      await r.done;
      return sp;
    };
    const copy = async (): Promise<string> => {
      const src = await make();
      const dst = await tempDir();
      for (const f of await readdir(src)) await writeFile(join(dst, f), await readFile(join(src, f)));
      return dst;
    };
    const restore = (path: string, o: { graph?: ValidatedGraph; maxParallelism?: number; allow?: boolean } = {}) =>
      createJobExecutor(o.graph ?? graph, {
        parallelism: 2,
        maxParallelism: o.maxParallelism,
        restoreFrom: path,
        allowNonRestoredState: o.allow,
        sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
      });
    const stateFile = async (dir: string): Promise<string> =>
      (await readdir(dir)).find((f) => f.endsWith('.kstate')) as string;

    it('missing _metadata.json (a checkpoint that never completed)', async () => {
      const d = await copy();
      await rm(join(d, '_metadata.json'));
      await expect(restore(d)).rejects.toMatchObject({ code: 'TRIB_RESTORE_METADATA_MISSING' });
    });
    it('bad checksum', async () => {
      const d = await copy();
      const f = join(d, await stateFile(d));
      const bytes = await readFile(f);
      bytes[20] = (bytes[20] as number) ^ 0xff;
      await writeFile(f, bytes);
      await expect(restore(d)).rejects.toMatchObject({ code: 'TRIB_RESTORE_CHECKSUM' });
    });
    it('truncated state file', async () => {
      const d = await copy();
      const f = join(d, await stateFile(d));
      await truncate(f, 10);
      await expect(restore(d)).rejects.toMatchObject({ code: 'TRIB_RESTORE_TRUNCATED' });
    });
    it('missing state file', async () => {
      const d = await copy();
      await rm(join(d, await stateFile(d)));
      await expect(restore(d)).rejects.toMatchObject({ code: 'TRIB_RESTORE_FILE_MISSING' });
    });
    it('truncated metadata', async () => {
      const d = await copy();
      await truncate(join(d, '_metadata.json'), 40);
      await expect(restore(d)).rejects.toMatchObject({ code: 'TRIB_RESTORE_METADATA_CORRUPT' });
    });
    it('unknown format version', async () => {
      const d = await copy();
      const m = JSON.parse(await readFile(join(d, '_metadata.json'), 'utf8')) as Record<string, unknown>;
      m['formatVersion'] = 99;
      await writeFile(join(d, '_metadata.json'), JSON.stringify(m));
      await expect(restore(d)).rejects.toMatchObject({ code: 'TRIB_RESTORE_VERSION' });
    });
    it('different maxParallelism', async () => {
      await expect(restore(await make(), { maxParallelism: 256 })).rejects.toMatchObject({
        code: 'TRIB_RESTORE_MAX_PARALLELISM',
      });
    });
    it('state of a step the graph no longer has, unless allowNonRestoredState', async () => {
      const renamed = validateGraph(spec(20_000, 'renamed-window'));
      await expect(restore(await make(), { graph: renamed })).rejects.toMatchObject({
        code: 'TRIB_RESTORE_NON_RESTORED_STATE',
      });
      const job = await restore(await make(), { graph: renamed, allow: true });
      expect(job.parallelism).toBe(2);
    });
  });
});
