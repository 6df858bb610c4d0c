// JobExecutor.rescale's refusals before anything moves (rescale-local.ts), on real jobs: a datagen
// source (its input is striped by parallelism: a joining slot would read what another reads), no
// checkpointing, a job not running, a parallelism outside 1..maxParallelism; after each refusal
// the job runs on at its parallelism. (rescale-local-kafka.int.test.ts carries rescales out.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { keyedWindowGraph } from '../testing/keyed-window-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { createJobExecutor } from '../job/job-executor.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const graph = () =>
  validateGraph(keyedWindowGraph({ rate: 2_000, count: 1_000_000, seed: 1, keys: 50, windowSize: '2s' }));

async function job(checkpointing: boolean) {
  const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-'));
  dirs.push(stateDir);
  const store = new TransactionStore();
  return createJobExecutor(graph(), {
    parallelism: 2,
    maxParallelism: 16,
    sinkWriter: () => new TransactionalCollectingSink(store),
    ...(checkpointing ? { checkpointing: { stateDir, timeoutMs: 20_000 } } : {}),
  });
}

describe('JobExecutor.rescale refuses before anything moves', () => {
  it('a job not running yet, a parallelism out of range, an index source', async () => {
    const j = await job(true);
    await expect(j.rescale(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringMatching(/not running \(CREATED\)/),
    });
    const done = j.run();
    await expect.poll(() => j.status().recordsIn, { timeout: 20_000 }).toBeGreaterThan(0);
    await expect(j.rescale(0)).rejects.toMatchObject({ code: 'TRIB_RESCALE_PLAN_INVALID' });
    await expect(j.rescale(17)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_PLAN_INVALID',
      message: expect.stringMatching(/not in 1..16/),
    });
    await expect(j.rescale(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringMatching(/source "events" cannot move its input.*datagen/),
    });
    expect(j.parallelism).toBe(2);
    expect(j.status()).toMatchObject({ state: 'RUNNING', parallelism: 2 });
    await j.triggerCheckpoint(); // checkpoints still complete: nothing joined
    j.stop();
    await done;
  }, 60_000);

  it('a job without checkpointing', async () => {
    const j = await job(false);
    const done = j.run();
    await expect(j.rescale(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringMatching(/takes no checkpoints/),
    });
    j.stop();
    await done;
  }, 60_000);
});
