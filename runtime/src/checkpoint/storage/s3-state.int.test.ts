// Checkpoints and savepoints on a real S3-compatible server (the local cluster's versitygw):
// the store's contract (absent vs error, the conditional commit), a job rescaled 2 → 3 → 1
// through savepoints on S3 with exactly the output of an uninterrupted run, retention deleting
// the objects of dropped checkpoints that no kept one shares, and a missing bucket / wrong keys
// refusing to start with the bucket and the S3 error code named.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobExecutor } from '../../job/job-executor.ts';
import { validateGraph } from '../../connectors/validate-graph.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import type { ValidatedGraph } from '../../graph/validate.ts';
import { TransactionalCollectingSink, TransactionStore } from '../../testing/transactional-sink.ts';
import { CheckpointStorage } from '../checkpoint-storage.ts';
import { readMetadata } from '../metadata.ts';
import { stateStoreFor } from './state-store-for.ts';
import { keyedWindowGraph } from '../../testing/keyed-window-graph.ts';
import { retainedFiles } from '../../testing/retained-files.ts';

const env = process.env;
const bucket = env.TRIBUTARY_S3_BUCKET as string;
const run = `it-${randomUUID().slice(0, 8)}`;
const root = `s3://${bucket}/${run}`;
const client = new S3Client({
  endpoint: env.TRIBUTARY_S3_ENDPOINT as string,
  region: env.TRIBUTARY_S3_REGION as string,
  forcePathStyle: true,
  credentials: {
    accessKeyId: env.TRIBUTARY_S3_ACCESS_KEY_ID as string,
    secretAccessKey: env.TRIBUTARY_S3_SECRET_ACCESS_KEY as string,
  },
});
afterAll(async () => {
  await stateStoreFor(root).removeTree(root);
  client.destroy();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (r.Contents ?? []).map((o) => o.Key as string).sort();
}

const COUNT = 30_000;
const spec = (rate: number | undefined): GraphSpec =>
  keyedWindowGraph({ rate, count: COUNT, seed: 7, keys: 97, windowSize: '5s' });
const sorted = (recs: unknown[]): string[] =>
  recs.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(
  graph: ValidatedGraph,
  store: TransactionStore,
  parallelism: number,
  stateDir: string,
  o: { restoreFrom?: string; intervalMs?: number } = {},
) {
  const job = await createJobExecutor(graph, {
    parallelism,
    maxParallelism: 128,
    sinkWriter: () => new TransactionalCollectingSink(store),
    checkpointing: { stateDir, intervalMs: o.intervalMs, retained: 2, timeoutMs: 20_000 },
    restoreFrom: o.restoreFrom,
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

describe('state on S3 (versitygw)', () => {
  it('store: absent is an answer, the commit is conditional, deletion removes every object', async () => {
    const dir = `${root}/store`;
    const store = stateStoreFor(dir);
    expect(await store.read(`${dir}/nothing`)).toBeUndefined();
    expect(await store.list(dir)).toEqual([]);
    await store.write(`${dir}/a/x.kstate`, new Uint8Array([1, 2, 3]));
    expect(await store.exists(`${dir}/a/x.kstate`)).toBe(true);
    expect(await store.exists(`${dir}/a/x`)).toBe(false);
    expect(await store.list(dir)).toEqual(['a']);
    await store.commit(`${dir}/a/_metadata.json`, new TextEncoder().encode('{"first":true}'));
    // A second writer of the same checkpoint id cannot commit over the first (If-None-Match: *).
    await expect(store.commit(`${dir}/a/_metadata.json`, new TextEncoder().encode('{}'))).rejects.toMatchObject({
      code: 'TRIB_STATE_STORAGE',
      message: expect.stringMatching(/PreconditionFailed/) as unknown,
    });
    expect(new TextDecoder().decode(await store.read(`${dir}/a/_metadata.json`))).toBe('{"first":true}');
    await store.removeTree(`${dir}/a`);
    expect(await keysUnder(`${run}/store`)).toEqual([]);
  });

  it('rescale 2 → 3 → 1 through savepoints on S3: exactly the uninterrupted output; paths are s3:// URIs', async () => {
    const refStore = new TransactionStore();
    const ref = await createJobExecutor(validateGraph(spec(undefined)), {
      parallelism: 1,
      sinkWriter: () => new TransactionalCollectingSink(refStore),
    });
    await ref.run();
    const graph = validateGraph(spec(20_000));
    const store = new TransactionStore();
    const stateDir = `${root}/rescale`;

    const a = await start(graph, store, 2, stateDir);
    await sleep(300);
    const sp1 = await a.job.triggerSavepoint({ stop: true });
    await a.done;
    expect(sp1.path).toMatch(new RegExp(`^s3://${bucket}/${run}/rescale/savepoints/sp-\\d+$`));
    expect((await readMetadata(sp1.path)).parallelism).toBe(2);
    const b = await start(graph, store, 3, stateDir, { restoreFrom: sp1.path });
    await sleep(300);
    const sp2 = await b.job.triggerSavepoint({ stop: true });
    await b.done;
    expect(sp2.id).toBeGreaterThan(sp1.id);
    const c = await start(graph, store, 1, stateDir, { restoreFrom: sp2.path });
    await c.done;
    expect(sorted(store.committed)).toEqual(sorted(refStore.committed));
    // Savepoints stay (never deleted by the runtime), in the bucket.
    expect((await new CheckpointStorage(stateDir).completedSavepoints()).map((s) => s.id)).toEqual([sp1.id, sp2.id]);
    expect(await keysUnder(`${run}/rescale/savepoints/sp-${sp1.id}`)).toContain(
      `${run}/rescale/savepoints/sp-${sp1.id}/_metadata.json`,
    );
  }, 90_000);

  it('periodic checkpoints on S3 keep the newest `retained`; dropped ones lose the objects no kept one references', async () => {
    const stateDir = `${root}/retention`;
    const a = await start(validateGraph(spec(10_000)), new TransactionStore(), 2, stateDir, { intervalMs: 100 });
    const storage = new CheckpointStorage(stateDir);
    for (let i = 0; i < 200 && ((await storage.latestCompletedCheckpoint())?.id ?? 0) < 6; i++) await sleep(100);
    a.job.stop();
    await a.done;
    // Pruning runs in the background after each completion: wait for it to catch up.
    for (let i = 0; i < 300 && (await storage.completedCheckpoints()).length > 3; i++) await sleep(100);
    const completed = (await storage.completedCheckpoints()).map((c) => c.id);
    const newest = completed.at(-1) ?? 0;
    expect(newest).toBeGreaterThanOrEqual(6);
    // retained 2, plus at most one more: the job's last completion may land after the last pruning.
    expect(completed.length).toBeLessThanOrEqual(3);
    // Retention is per file (incremental checkpoints share their bases): every object left below the
    // oldest kept checkpoint is one a kept checkpoint references, or a compacted base the newest
    // one's chains may still adopt; dropped ones lost every other object.
    const { referenced, adoptable } = await retainedFiles(stateDir);
    const below = (await keysUnder(`${run}/retention/checkpoints`))
      .map((k) => k.split('/').slice(3).join('/'))
      .filter((k) => Number(k.slice(4, k.indexOf('/'))) < (completed[0] ?? 0));
    for (const k of below) expect(referenced.has(k) || adoptable(k), k).toBe(true);
  }, 60_000);

  it('a missing bucket stops the job before it starts, naming the bucket and NoSuchBucket', async () => {
    const job = await createJobExecutor(validateGraph(spec(10_000)), {
      parallelism: 1,
      sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
      checkpointing: { stateDir: `s3://no-such-bucket-${run}/state`, intervalMs: 100, retained: 2, timeoutMs: 5000 },
    });
    const err = await job.run().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`no-such-bucket-${run}.*NoSuchBucket`, 's'));
  }, 30_000);

  it('wrong keys: the listing fails with the bucket and the S3 error code, never "no checkpoints"', async () => {
    const saved = env.TRIBUTARY_S3_SECRET_ACCESS_KEY;
    env.TRIBUTARY_S3_SECRET_ACCESS_KEY = 'wrong-secret';
    try {
      const p = new CheckpointStorage(`${root}/rescale`).completedSavepoints();
      await expect(p).rejects.toMatchObject({ code: 'TRIB_STATE_STORAGE' });
      await expect(p).rejects.toThrow(new RegExp(`bucket "${bucket}".*SignatureDoesNotMatch`));
    } finally {
      env.TRIBUTARY_S3_SECRET_ACCESS_KEY = saved;
    }
  });
});
