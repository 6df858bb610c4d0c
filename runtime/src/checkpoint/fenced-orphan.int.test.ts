// A replaced deployment still running beside its successor, on the local S3 server (real jobs,
// in process): (1) a checkpoint it completes after its successor chose what to restore — an
// orphan, whose transactions the successor's fencing aborts — is never restored by a later
// deployment, even when the successor never completed a checkpoint of its own, and the Kafka
// sink's recovery doubt names it; (2) after the fence it never hands a checkpoint id to its
// slots, so no state file lands in a folder whose id the successor issues too.
// Before: (1) the next deployment restored the orphan; (2) the old slots wrote state files into
// `chk-<id>` and only the metadata commit was refused.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { resolveLatestRestore } from '../control/restore-latest.ts';
import { restoredOrphan } from '../connectors/kafka/restored-orphan.ts';
import { createJobExecutor, type JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { fenceDeployments } from './deployment-fence.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf } from './storage/state-uri.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const graph: GraphSpec = {
  sources: [
    { name: 'gen', datagen: { generator: 'schema', rate: 3000, count: 1e9, fields: { id: { type: 'sequence' } } } },
  ],
  sinks: [{ name: 'out', from: 'gen', console: {} }],
};

/** Holds the barrier of checkpoint `at` in the sink until `release()`: the checkpoint stays in flight. */
class Gate {
  release!: () => void;
  readonly open = new Promise<void>((r) => (this.release = r));
  reached!: () => void;
  readonly held = new Promise<void>((r) => (this.reached = r));
  readonly at: number;
  constructor(at: number) {
    this.at = at;
  }
}

class GatedSink extends TransactionalCollectingSink {
  private readonly gate: Gate | undefined;
  constructor(store: TransactionStore, gate: Gate | undefined) {
    super(store);
    this.gate = gate;
  }
  override async preCommit(checkpointId: number): Promise<readonly unknown[]> {
    if (this.gate?.at === checkpointId) {
      this.gate.reached();
      await this.gate.open;
    }
    return super.preCommit(checkpointId);
  }
}

describe('a replaced deployment still running beside its successor (S3, in-process jobs)', () => {
  const bucket = process.env['TRIBUTARY_S3_BUCKET'];
  const base = `s3://${bucket}/tests/orphan-${randomUUID().slice(0, 8)}`;
  const jobs: { job: JobExecutor; done: Promise<unknown> }[] = [];

  beforeAll(() => {
    expect(bucket, 'start the local cluster with --with s3').toBeTruthy();
  });
  afterAll(async () => {
    for (const j of jobs) {
      j.job.stop();
      await j.done.catch(() => undefined);
    }
    await stateStoreFor(base)
      .removeTree(base)
      .catch(() => undefined);
  }, 60_000);

  async function running(stateDir: string, deployment: string, gate?: Gate) {
    const store = new TransactionStore();
    const job = await createJobExecutor(validateGraph(graph), {
      parallelism: 2,
      maxParallelism: 16,
      sinkWriter: () => new GatedSink(store, gate),
      checkpointing: { stateDir, deployment, timeoutMs: 30_000, retained: 10 },
    });
    const done = job.run();
    done.catch(() => undefined);
    jobs.push({ job, done });
    while (job.status().recordsIn === 0) await sleep(10);
    return { job, done, store };
  }

  it('never restores a checkpoint it completed after its successor chose, with no successor checkpoint', async () => {
    const stateDir = `${base}/item5`;
    const gate = new Gate(2);
    const a = await running(stateDir, 'uid/a', gate);
    await a.job.triggerCheckpoint();
    // Checkpoint 2 passes its trigger-time fence read, then waits in the sinks.
    const k = a.job.triggerCheckpoint();
    k.catch(() => undefined);
    await gate.held;

    // The successor fences, lists and decides meanwhile: checkpoint 1.
    const b = await resolveLatestRestore(
      stateDir,
      { since: new Date(0).toISOString(), lineage: ['uid/b', 'uid/a'] },
      undefined,
      undefined,
      'uid/b',
    );
    expect(b).toMatchObject({ source: 'latest', checkpointId: 1 });
    // The old deployment completes checkpoint 2 (its metadata lands), reads its fence and stops.
    gate.release();
    await expect(k).rejects.toMatchObject({ code: 'TRIB_DEPLOYMENT_FENCED' });
    const orphan = (await new CheckpointStorage(stateDir).completedCheckpoints()).find((c) => c.id === 2);
    expect(orphan, 'checkpoint 2 completed (metadata written) after the successor listed').toBeDefined();

    // The successor dies before its first checkpoint; the next deployment restores checkpoint 1.
    const c = await resolveLatestRestore(
      stateDir,
      { since: new Date(0).toISOString(), lineage: ['uid/c', 'uid/b', 'uid/a'] },
      undefined,
      undefined,
      'uid/c',
    );
    expect(c).toMatchObject({ source: 'latest', checkpointId: 1 });
    // A recovery that restored it anyway (an explicit path) doubts its fenced transactions.
    expect(await restoredOrphan(orphan!.path)).toMatchObject({ code: 'TRIB_RESTORE_FENCED_ORPHAN' });
    expect(await restoredOrphan(c.path)).toBeUndefined();
  }, 120_000);

  it('supersedes a successor that had not decided: the checkpoint it would have orphaned stays restorable', async () => {
    const stateDir = `${base}/superseded`;
    const a = await running(stateDir, 'uid/a');
    await a.job.triggerCheckpoint();
    // b fenced a and died (or stalls) before recording its restore; c decides first.
    await fenceDeployments(stateDir, ['uid/b', 'uid/a'], 'uid/b');
    await expect(a.job.triggerCheckpoint()).rejects.toMatchObject({ code: 'TRIB_DEPLOYMENT_FENCED' });
    const latest = (lineage: string[]) => ({ since: new Date(0).toISOString(), lineage });
    const c = await resolveLatestRestore(stateDir, latest(['uid/c', 'uid/b', 'uid/a']), undefined, undefined, 'uid/c');
    expect(c).toMatchObject({ source: 'latest', checkpointId: 1 });
    // b's slots, should they get to decide now, stop instead of fencing what c restores.
    await expect(
      resolveLatestRestore(stateDir, latest(['uid/b', 'uid/a']), undefined, undefined, 'uid/b'),
    ).rejects.toMatchObject({ code: 'TRIB_DEPLOYMENT_FENCED' });
  }, 120_000);

  it('after the fence, hands no checkpoint id to its slots (no state file of the successor’s next id)', async () => {
    const stateDir = `${base}/item7a`;
    const a = await running(stateDir, 'uid/a');
    await a.job.triggerCheckpoint();
    await fenceDeployments(stateDir, ['uid/b', 'uid/a'], 'uid/b');
    await expect(a.job.triggerCheckpoint()).rejects.toMatchObject({
      code: 'TRIB_DEPLOYMENT_FENCED',
      message: expect.stringMatching(/^checkpoint 2 is not triggered: a newer deployment/) as unknown,
    });
    await a.done.catch(() => undefined);
    // The successor's coordinator (it reads the id mark after its fence) issues 2 next: the folder is empty.
    const chk2 = childOf(stateDir, 'checkpoints', 'chk-2');
    expect(await stateStoreFor(chk2).list(chk2)).toEqual([]);
  }, 120_000);
});
