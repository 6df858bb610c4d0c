// A stop-with-savepoint that fails leaves the job RUNNING (as in Flink), so the operator's
// retry with backoff succeeds: driven through the real control server on a real in-process
// job (2 slots, keyed windows, two-phase-commit sink); the one injected fault is a sink
// pre-commit that rejects once. The output over failed attempt → retry → restore equals an
// uninterrupted run (nothing lost, nothing twice).
//
// The stopped job's input has no end, so both attempts are mid-stream however slow the
// machine: only the stop can end it. (With a bounded input, a stall before the stop barrier —
// the id mark's fsync on a busy disk, a starved CI worker — let the source read to its end
// first, and the test failed on "expected 40000 to be less than 40000".) The restored run and
// the reference read the same records up to a bound set past where the stopped job got.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import type { SavepointStatus, StatusResponse } from './contract.ts';
import { jobSavepointControl, jobStatusSource } from '../job/job-executor-control.ts';
import { startControlServer } from './server.ts';

/** The stopped job: unbounded at `rate`; the reference and the restored run: the first `count` records, unthrottled. */
const graphSpec = (input: { rate: number } | { count: number }): GraphSpec => ({
  sources: [
    {
      name: 'clicks',
      datagen: {
        generator: 'schema',
        seed: 11,
        ...input,
        startTime: 1_700_000_000_000,
        eventRate: 2000,
        fields: {
          n: { type: 'sequence' },
          user: { type: 'string', prefix: 'u', cardinality: 53 },
          amount: { type: 'int', min: 1, max: 9 },
          ts: { type: 'timestamp' },
        },
      },
      timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
    },
  ],
  steps: [
    { name: 'by-user', from: 'clicks', keyBy: 'user' },
    { name: 'per-2s', from: 'by-user', window: { tumbling: { size: '2s' } } },
    { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
  ],
  sinks: [{ name: 'out', from: 'totals', console: {} }],
});

/** The injected fault: the next pre-commit after `failNext` is set rejects (the slot declines the savepoint). */
class FailOnceSink extends TransactionalCollectingSink {
  static failNext = false;
  override preCommit(checkpointId: number): Promise<readonly unknown[]> {
    if (FailOnceSink.failNext) {
      FailOnceSink.failNext = false;
      return Promise.reject(new Error('injected: transaction coordinator unavailable'));
    }
    return super.preCommit(checkpointId);
  }
}

const sorted = (recs: unknown[]): string[] =>
  recs.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('stop-with-savepoint through the control API', () => {
  it('a failed stop-with-savepoint leaves the job RUNNING; the retry stops it; restore gives exactly the uninterrupted output', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-swsp-'));
    dirs.push(stateDir);
    const store = new TransactionStore();
    const graph = validateGraph(graphSpec({ rate: 5_000 }));
    const job = await createJobExecutor(graph, {
      parallelism: 2,
      maxParallelism: 64,
      sinkWriter: () => new FailOnceSink(store),
      checkpointing: { stateDir, retained: 2, timeoutMs: 20_000 },
    });
    const done = job.run();
    done.catch(() => undefined);
    const server = await startControlServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      token: 't',
      source: jobStatusSource(job, { jobName: 'j', deploymentId: 'd', slot: 0 }),
      savepoints: jobSavepointControl(job),
    });
    const base = `http://127.0.0.1:${server.port}`;
    let savepoint: string | undefined;
    const status = async () =>
      (await (await fetch(`${base}/v1/status`, { headers: { authorization: 'Bearer t' } })).json()) as StatusResponse;
    const stopWithSavepoint = async (requestId: string): Promise<SavepointStatus> => {
      const r = await fetch(`${base}/v1/savepoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        body: JSON.stringify({ stop: true, requestId }),
      });
      expect(r.status).toBe(202);
      const { id } = (await r.json()) as { id: string };
      for (;;) {
        const st = (await (
          await fetch(`${base}/v1/savepoints/${id}`, { headers: { authorization: 'Bearer t' } })
        ).json()) as SavepointStatus;
        if (st.state !== 'IN_PROGRESS') return st;
        await sleep(20);
      }
    };
    try {
      await sleep(300);
      expect((await status()).state).toBe('RUNNING');

      FailOnceSink.failNext = true;
      const failed = await stopWithSavepoint('attempt-1');
      expect(failed.state).toBe('FAILED');
      expect(failed.error).toMatch(/^TRIB_CHECKPOINT_DECLINED: .*injected/);
      // The job runs on: RUNNING again, and its sources read on.
      expect((await status()).state).toBe('RUNNING');
      const inAfterFailure = job.status().recordsIn;
      await sleep(200);
      expect(job.status().recordsIn).toBeGreaterThan(inAfterFailure);

      const ok = await stopWithSavepoint('attempt-2');
      expect(ok.state).toBe('COMPLETED');
      savepoint = ok.path;
      expect((await done).state).toBe('STOPPED');
    } finally {
      await server.close();
    }
    // Slot s read records s, s+2, …: none past 2·recordsIn. The bound leaves the restored run 4,000 more at least.
    const count = Math.max(40_000, 2 * job.status().recordsIn + 4_000);
    const refStore = new TransactionStore();
    await (
      await createJobExecutor(validateGraph(graphSpec({ count })), {
        parallelism: 1,
        sinkWriter: () => new TransactionalCollectingSink(refStore),
      })
    ).run();
    const want = sorted(refStore.committed);
    expect(want.length).toBeGreaterThan(500);

    expect(savepoint).toMatch(/savepoints\/sp-\d+$/);
    const rest = await createJobExecutor(validateGraph(graphSpec({ count })), {
      parallelism: 3,
      maxParallelism: 64,
      restoreFrom: savepoint,
      sinkWriter: () => new TransactionalCollectingSink(store),
      checkpointing: { stateDir, retained: 2, timeoutMs: 20_000 },
    });
    await rest.run();
    expect(rest.status().recordsIn).toBeGreaterThanOrEqual(4_000);
    expect(store.prepared.size).toBe(0);
    expect(sorted(store.committed)).toEqual(want);
  }, 60_000);
});
