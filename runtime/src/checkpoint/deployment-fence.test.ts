// The fence of a replaced deployment (deployment-fence.ts) and the one restore of a deployment
// (control/restore-decision.ts) on the filesystem store, with real jobs: a predecessor still
// running when its successor starts commits nothing after the fence, and every slot of the
// successor restores the same checkpoint even when the predecessor completed one between their
// lookups. The same against S3, Kafka and slot processes: deployment-fence.int.test.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { agreedRestore, decisionLocation } from '../control/restore-decision.ts';
import { resolveLatestRestore } from '../control/restore-latest.ts';
import { createJobExecutor, type JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { fenceDeployments, fenceLocation } from './deployment-fence.ts';
import { stateStoreFor } from './storage/state-store-for.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const graph: GraphSpec = {
  sources: [
    { name: 'gen', datagen: { generator: 'schema', rate: 3000, count: 1e9, fields: { id: { type: 'sequence' } } } },
  ],
  sinks: [{ name: 'out', from: 'gen', console: {} }],
};

async function running(stateDir: string, deployment: string, store: TransactionStore) {
  const job: JobExecutor = await createJobExecutor(validateGraph(graph), {
    parallelism: 2,
    maxParallelism: 16,
    sinkWriter: () => new TransactionalCollectingSink(store),
    // No periodic checkpoints: the test decides when one completes.
    checkpointing: { stateDir, deployment, timeoutMs: 5000, retained: 10 },
  });
  const done = job.run();
  done.catch(() => undefined);
  while (job.status().recordsIn === 0) await sleep(10);
  return { job, done };
}

describe('a replaced deployment that still runs', () => {
  it('commits nothing after its successor fenced it, keeps the metadata and stops', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-fence-'));
    dirs.push(stateDir);
    const store = new TransactionStore();
    const { job, done } = await running(stateDir, 'uid/a', store);
    await job.triggerCheckpoint();
    // Every slot's sink committed checkpoint 1 (each commits on its own notification).
    await expect.poll(() => store.prepared.size, { timeout: 10_000 }).toBe(0);
    const committedBefore = store.committed.length;
    expect(committedBefore).toBeGreaterThan(0);

    await fenceDeployments(stateDir, ['uid/b', 'uid/a'], 'uid/b');
    expect(JSON.parse(await readFile(fenceLocation(stateDir, 'uid/a'), 'utf8'))).toMatchObject({
      deployment: 'uid/a',
      fencedBy: 'uid/b',
    });
    // Refused at trigger time: no slot sees id 2, which the successor may issue itself.
    await expect(job.triggerCheckpoint()).rejects.toMatchObject({
      code: 'TRIB_DEPLOYMENT_FENCED',
      message: expect.stringContaining('checkpoint 2 is not triggered: a newer deployment of this job fenced'),
    });
    await expect(done).rejects.toMatchObject({ code: 'TRIB_DEPLOYMENT_FENCED' });
    await expect(readFile(join(stateDir, 'checkpoints', 'chk-2', '_metadata.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(store.committed.length).toBe(committedBefore);
  }, 30_000);

  it('a fence it cannot read fails the checkpoint (not committed) and the job rides it out', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-fence-unreadable-'));
    dirs.push(stateDir);
    const store = new TransactionStore();
    const { job, done } = await running(stateDir, 'uid/a', store);
    try {
      await job.triggerCheckpoint();
      await expect.poll(() => store.prepared.size, { timeout: 10_000 }).toBe(0);
      const committedBefore = store.committed.length;
      expect(committedBefore).toBeGreaterThan(0);
      // `fences` as a file: reading `fences/<deployment>` is ENOTDIR, an error, never "absent".
      await writeFile(join(stateDir, 'fences'), 'not a folder');
      await expect(job.triggerCheckpoint()).rejects.toMatchObject({
        code: 'TRIB_CHECKPOINT_FAILED',
        message: expect.stringContaining('cannot read the fence'),
      });
      await sleep(100);
      expect(store.committed.length).toBe(committedBefore);
      await rm(join(stateDir, 'fences'));
      // The next checkpoint commits everything since the last committed one.
      await job.triggerCheckpoint();
      await expect.poll(() => store.prepared.size, { timeout: 10_000 }).toBe(0);
      expect(store.committed.length).toBeGreaterThan(committedBefore);
    } finally {
      job.stop();
      await done.catch(() => undefined);
    }
  }, 30_000);
});

describe("a successor's slots", () => {
  it('restore the same checkpoint when the predecessor completes one between their lookups', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-agree-'));
    dirs.push(stateDir);
    const store = new TransactionStore();
    const { job, done } = await running(stateDir, 'uid/a', store);
    const latest = { since: new Date(0).toISOString(), lineage: ['uid/b', 'uid/a'] };
    try {
      await job.triggerCheckpoint();
      const first = await resolveLatestRestore(stateDir, latest, undefined, undefined, 'uid/b');
      expect(first).toMatchObject({ source: 'latest', checkpointId: 1 });
      // The predecessor's next checkpoint after the first slot looked is refused (fenced).
      await expect(job.triggerCheckpoint()).rejects.toMatchObject({ code: 'TRIB_DEPLOYMENT_FENCED' });
      const second = await resolveLatestRestore(stateDir, latest, undefined, undefined, 'uid/b');
      expect(second).toEqual(first);
      expect(JSON.parse(await readFile(decisionLocation(stateDir, 'uid/b'), 'utf8'))).toEqual(first);
    } finally {
      job.stop();
      await done.catch(() => undefined);
    }
  }, 30_000);

  it('agree on one decision when they decide at once, and refuse a decision they cannot read', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-decide-'));
    dirs.push(stateDir);
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((id) =>
        agreedRestore(stateDir, 'uid/c', async () => {
          await sleep(5 * id);
          return { source: 'latest' as const, path: `/state/checkpoints/chk-${id}`, checkpointId: id };
        }),
      ),
    );
    expect(new Set(answers.map((a) => a.checkpointId)).size).toBe(1);
    await stateStoreFor(stateDir).write(decisionLocation(stateDir, 'uid/d'), new TextEncoder().encode('{"path":3}'));
    await expect(
      agreedRestore(stateDir, 'uid/d', () => Promise.resolve({ source: 'fallback', path: undefined })),
    ).rejects.toMatchObject({ code: 'TRIB_RESTORE_UNREADABLE' });
  });

  it("the filesystem's commit is exclusive: a second writer of a location is refused", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-commit-'));
    dirs.push(stateDir);
    const at = join(stateDir, 'x', '_metadata.json');
    const fs = stateStoreFor(at);
    await fs.commit(at, new TextEncoder().encode('first'));
    await expect(fs.commit(at, new TextEncoder().encode('second'))).rejects.toMatchObject({
      code: 'TRIB_STATE_STORAGE',
      message: expect.stringContaining('EEXIST'),
    });
    expect(await readFile(at, 'utf8')).toBe('first');
  });
});
