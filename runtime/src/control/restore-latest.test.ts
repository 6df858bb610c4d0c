// JobConfig.restoreLatest resolution on checkpoints and savepoints written by a real job.
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobExecutor } from '../job/job-executor.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { resolveLatestRestore, resolveLatestRestoreWithin } from './restore-latest.ts';

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

describe('resolveLatestRestore by lineage (the deployment recorded in each checkpoint)', () => {
  const graph = () =>
    validateGraph({
      sources: [
        { name: 'g', datagen: { generator: 'schema', seed: 1, rate: 2000, fields: { k: { type: 'string' } } } },
      ],
      steps: [{ name: 'by-k', from: 'g', keyBy: 'k' }],
      sinks: [{ name: 'out', from: 'by-k', console: {} }],
    });
  /** Runs a job of deployment `deployment` on `stateDir` and completes `n` checkpoints. */
  const checkpointsOf = async (
    stateDir: string,
    deployment: string,
    n: number,
  ): Promise<{ id: number; path: string }[]> => {
    const job = await createJobExecutor(graph(), {
      parallelism: 1,
      maxParallelism: 8,
      sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
      checkpointing: { stateDir, retained: 10, timeoutMs: 10_000, deployment },
    });
    const done = job.run();
    await sleep(50);
    const out = [];
    for (let i = 0; i < n; i++) out.push(await job.triggerCheckpoint());
    job.stop();
    await done;
    return out;
  };

  it('picks the newest state of the listed deployments, whatever the clocks say', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-lineage-'));
    dirs.push(stateDir);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const a = await checkpointsOf(stateDir, 'uid-1/aaaa-1', 2);
    const b = await checkpointsOf(stateDir, 'uid-1/bbbb-2', 1);
    expect(JSON.parse(await readFile(join(a[1]!.path, '_metadata.json'), 'utf8'))).toMatchObject({
      deployment: 'uid-1/aaaa-1',
    });
    // The operator's clock an hour ahead of slot 0's: `since` is after every trigger time, yet the
    // lineage's newest checkpoint is found (comparing the two clocks picked the fallback).
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await resolveLatestRestore(stateDir, { since: future, lineage: ['uid-1/aaaa-1'] }, '/fb')).toEqual({
      path: a[1]!.path,
      source: 'latest',
      checkpointId: a[1]!.id,
    });
    // The operator's clock behind: a newer deployment of another lineage (a redeploy from an external
    // savepoint) wrote b, which is newer by id and by time, and is not picked.
    expect((await resolveLatestRestore(stateDir, { since: past, lineage: ['uid-1/aaaa-1'] }, '/fb')).path).toBe(
      a[1]!.path,
    );
    expect(
      (await resolveLatestRestore(stateDir, { since: future, lineage: ['uid-1/bbbb-2', 'uid-1/aaaa-1'] }, '/fb')).path,
    ).toBe(b[0]!.path);
    expect(await resolveLatestRestore(stateDir, { since: past, lineage: ['uid-9/other-1'] }, '/fb')).toEqual({
      path: '/fb',
      source: 'fallback',
    });

    // State written before `deployment` existed is placed by its trigger time (documented fallback).
    const metaFile = join(b[0]!.path, '_metadata.json');
    const { deployment: _, ...old } = JSON.parse(await readFile(metaFile, 'utf8')) as Record<string, unknown>;
    await writeFile(metaFile, JSON.stringify(old));
    expect((await resolveLatestRestore(stateDir, { since: past, lineage: ['uid-1/aaaa-1'] }, '/fb')).path).toBe(
      b[0]!.path,
    );
    expect((await resolveLatestRestore(stateDir, { since: future, lineage: ['uid-1/aaaa-1'] }, '/fb')).path).toBe(
      a[1]!.path,
    );
  }, 30_000);

  // A slot pod's lookup (slot-main.ts) on storage that accepts and never answers. The hang is
  // real: the checkpoint's `_metadata.json` is a FIFO, so reading it blocks until somebody writes
  // it, as a read from a paused S3 server does. (On S3: s3-restore-lookup.chaos.int.test.ts.)
  it('bounded: storage that does not answer fails the lookup at the timeout, naming it, after a warning', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-latest-hung-'));
    dirs.push(stateDir);
    await mkdir(join(stateDir, 'checkpoints', 'chk-1'), { recursive: true });
    const fifo = join(stateDir, 'checkpoints', 'chk-1', '_metadata.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const logged: { level: number; msg: string; storage?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void logged.push(JSON.parse(l) as never) });
    try {
      await expect(
        resolveLatestRestoreWithin(stateDir, new Date(0).toISOString(), '/fb', { timeoutMs: 600, logger }),
      ).rejects.toMatchObject({
        code: 'TRIB_STATE_STORAGE',
        message: `cannot find the latest checkpoint in ${stateDir}: the state storage ${stateDir} did not answer within 600 ms (checkpointing timeout)`,
      });
      // The wait it reports is measured: a loaded machine runs the 0.3 s warning timer late.
      expect(logged.map((l) => [l.level, l.msg.replace(/for \d+\.\d s/, 'for N s')])).toEqual([
        [
          40,
          `restoreLatest: the state storage ${stateDir} has not answered for N s while this slot looks up the newest checkpoint in ${stateDir}; it fails after 600 ms (checkpointing timeout)`,
        ],
      ]);
      expect(Number(/for (\d+\.\d) s/.exec(logged[0]!.msg)?.[1])).toBeGreaterThanOrEqual(0.3);
    } finally {
      // Release the blocked reader (a worker thread of this process) with an unreadable metadata file.
      await promisify(execFile)('timeout', ['10', 'sh', '-c', `printf x > '${fifo}'`]);
    }
  });
});
