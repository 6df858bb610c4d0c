// JobConfig.restoreLatest resolution on checkpoints and savepoints written by a real job.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobExecutor } from '../exec/job-executor.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { resolveLatestRestore } from './restore-latest.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('resolveLatestRestore', () => {
  it('picks the newest completed checkpoint or savepoint triggered since the lineage started, else the fallback', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-latest-'));
    dirs.push(stateDir);
    const graph = validateGraph({
      sources: [
        {
          name: 'g',
          datagen: {
            generator: 'schema',
            seed: 3,
            rate: 5000,
            fields: { k: { type: 'string', prefix: 'k', cardinality: 10 }, ts: { type: 'timestamp' } },
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
        },
      ],
      steps: [
        { name: 'by-k', from: 'g', keyBy: 'k' },
        { name: 'w', from: 'by-k', window: { tumbling: { size: '1s' } } },
        { name: 'n', from: 'w', aggregate: { n: 'count()' } },
      ],
      sinks: [{ name: 'out', from: 'n', console: {} }],
    });
    const job = await createJobExecutor(graph, {
      parallelism: 2,
      maxParallelism: 32,
      sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
      checkpointing: { stateDir, retained: 5, timeoutMs: 10_000 },
    });
    const done = job.run();
    await sleep(100);
    const before = new Date().toISOString();
    await sleep(5);
    const c1 = await job.triggerCheckpoint();
    const between = new Date().toISOString();
    await sleep(5);
    const sp = await job.triggerSavepoint({ stop: false });
    const c2 = await job.triggerCheckpoint();
    await sleep(5);
    const after = new Date().toISOString();
    job.stop();
    await done;
    expect(c1.id).toBeLessThan(sp.id);
    expect(sp.id).toBeLessThan(c2.id);

    expect(await resolveLatestRestore(stateDir, before, '/elsewhere/sp-1')).toEqual({
      path: c2.path,
      source: 'latest',
      checkpointId: c2.id,
    });
    expect((await resolveLatestRestore(stateDir, between, undefined)).path).toBe(c2.path);
    // Nothing of this lineage (all older than `since`): the fallback, never an older lineage's state.
    expect(await resolveLatestRestore(stateDir, after, '/elsewhere/sp-1')).toEqual({
      path: '/elsewhere/sp-1',
      source: 'fallback',
    });
    expect(await resolveLatestRestore(join(stateDir, 'missing'), before, undefined)).toEqual({
      path: undefined,
      source: 'fallback',
    });

    // A newest checkpoint whose metadata is unreadable stops the restore, naming it: falling back to
    // the savepoint below it would silently replay output its successor had committed.
    await writeFile(join(c2.path, '_metadata.json'), '{"format":');
    const refused = resolveLatestRestore(stateDir, before, undefined);
    await expect(refused).rejects.toMatchObject({ code: 'TRIB_RESTORE_UNREADABLE' });
    await expect(refused).rejects.toThrow(c2.path);
    await expect(resolveLatestRestore(stateDir, 'yesterday', undefined)).rejects.toMatchObject({
      code: 'TRIB_PEER_CONFIG',
    });
  }, 30_000);
});
