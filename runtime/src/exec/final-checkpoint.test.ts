// End of input with checkpointing (FLIP-147): checkpoints continue after sources finished, a
// job ends only after a final checkpoint, and sinks commit through checkpoint completion, so
// a slot that reached end of input never commits output that no checkpoint covers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../connectors/api.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { createJobExecutor, JobExecutor } from '../job/job-executor.ts';

const COUNT = 4000;

function spec(): GraphSpec {
  return {
    sources: [
      {
        name: 'events',
        datagen: {
          generator: 'schema',
          seed: 3,
          count: COUNT,
          fields: { id: { type: 'sequence' }, v: { type: 'int', min: 0, max: 9 } },
        },
      },
    ],
    steps: [{ name: 'm', from: 'events', map: { id: 'id', v: 'v' } }],
    sinks: [{ name: 'out', from: 'm', console: {} }],
  };
}

/**
 * Counts what close('finished') still had to commit (nothing, when the final checkpoint committed it); can hold the
 * slot back.
 */
class ProbeSink implements SinkWriter {
  held = false;
  committedAtClose = 0;
  private readonly inner: TransactionalCollectingSink;
  private readonly store: TransactionStore;
  private wakeSlot: (() => void) | undefined;
  constructor(store: TransactionStore) {
    this.store = store;
    this.inner = new TransactionalCollectingSink(store);
  }
  get backpressured(): boolean {
    return this.held;
  }
  open(ctx: SinkWriterContext): Promise<void> {
    this.wakeSlot = ctx.wake;
    return this.inner.open(ctx);
  }
  write(b: Batch): void {
    this.inner.write(b);
  }
  preCommit(id: number): Promise<readonly unknown[]> {
    return this.inner.preCommit(id);
  }
  notifyCheckpointComplete(id: number): Promise<void> {
    return this.inner.notifyCheckpointComplete(id);
  }
  close(outcome: CloseOutcome = 'finished'): Promise<void> {
    const before = this.store.committed.length;
    const p = this.inner.close(outcome); // synchronous in the test sink
    this.committedAtClose += this.store.committed.length - before;
    return p;
  }
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-final-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  // No retry: a job's run() settles only after its writes to the state directory did (checkpoint/job-end.test.ts).
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ids(recs: Rec[]): number[] {
  return recs.map((r) => Number((r as { id: unknown }).id)).sort((a, b) => a - b);
}

describe('final checkpoint at end of input', () => {
  it('a bounded job commits everything through a final checkpoint; close(finished) has nothing left', async () => {
    const store = new TransactionStore();
    const sinks: ProbeSink[] = [];
    const job = await createJobExecutor(validateGraph(spec()), {
      parallelism: 2,
      sinkWriter: () => {
        const s = new ProbeSink(store);
        sinks.push(s);
        return s;
      },
      checkpointing: { stateDir: await tempDir(), intervalMs: 0, timeoutMs: 10_000 },
    });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');
    expect(job.status().lastCheckpoint).toBeDefined();
    expect(ids(store.committed)).toEqual([...Array(COUNT).keys()]);
    expect(sinks.map((s) => s.committedAtClose)).toEqual([0, 0]);
  });

  it('without checkpointing a bounded job behaves as before (the sink commits at close)', async () => {
    const store = new TransactionStore();
    const sinks: ProbeSink[] = [];
    const job = new JobExecutor(validateGraph(spec()), {
      parallelism: 2,
      sinkWriter: () => {
        const s = new ProbeSink(store);
        sinks.push(s);
        return s;
      },
    });
    await job.run();
    expect(ids(store.committed)).toEqual([...Array(COUNT).keys()]);
    expect(sinks.reduce((n, s) => n + s.committedAtClose, 0)).toBe(COUNT);
  });

  it('one process per slot: slot 1 reaches end of input, slot 0 crashes, restore → no duplicates, nothing lost', async () => {
    const graph = validateGraph(spec());
    const store = new TransactionStore();
    const stateDir = await tempDir();
    const jobs: JobExecutor[] = [];
    const common = {
      parallelism: 2,
      maxParallelism: 128,
      jobName: 'final',
      checkpointing: { stateDir, intervalMs: 40, timeoutMs: 10_000, retained: 2 },
      sinkWriter: (_: unknown, slot: number) => {
        const s = new ProbeSink(store);
        if (slot === 0) {
          s.held = true; // slot 0 makes no progress: slot 1 ends first
        }
        return s;
      },
    };
    const later = <T extends object>(get: () => T | undefined): T =>
      new Proxy({} as T, {
        get:
          (_t, prop) =>
          (...args: unknown[]) =>
            queueMicrotask(() => {
              const target = get() as Record<string | symbol, (...a: unknown[]) => void> | undefined;
              target?.[prop]?.(...args);
            }),
      });
    const job0 = new JobExecutor(graph, {
      ...common,
      slots: [0],
      checkpointTransport: { slot: () => later(() => jobs[1]?.slotCheckpointPort(1)) },
    });
    const job1 = new JobExecutor(graph, {
      ...common,
      slots: [1],
      checkpointTransport: { coordinator: later(() => jobs[0]?.coordinator) },
    });
    jobs.push(job0, job1);
    const runs = [job0.run(), job1.run()];
    for (const r of runs) r.catch(() => undefined);
    let settled1 = false;
    void runs[1]?.then(
      () => (settled1 = true),
      () => (settled1 = true),
    );
    // slot 1's source ends; checkpoints go on (slot 1 reports its final snapshot) …
    const t0 = Date.now();
    while (
      Date.now() - t0 < 10_000 &&
      (store.committed.length < COUNT / 2 || (job0.status().lastCheckpoint?.id ?? 0) < 4)
    )
      await sleep(20);
    expect(store.committed.length).toBe(COUNT / 2);
    // … but slot 1 does not finish (commit at close) before a final checkpoint, which needs slot 0
    await sleep(200);
    expect(settled1).toBe(false);
    // slot 0 crashes (and so does the job's other process)
    job0.crash();
    job1.crash();
    await Promise.allSettled(runs);
    const restoreFrom = await latestCheckpointPath(stateDir);
    expect(restoreFrom).toBeDefined();
    const again = await createJobExecutor(graph, {
      parallelism: 2,
      maxParallelism: 128,
      jobName: 'final',
      restoreFrom,
      checkpointing: { stateDir, intervalMs: 40, timeoutMs: 10_000 },
      sinkWriter: () => new ProbeSink(store),
    });
    await again.run();
    expect(ids(store.committed)).toEqual([...Array(COUNT).keys()]);
  }, 30_000);
});
