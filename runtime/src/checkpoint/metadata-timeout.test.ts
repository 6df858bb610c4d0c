// A state store that stops answering while a checkpoint's metadata is written (the commit
// point) aborts that checkpoint at the checkpoint timeout, with an error naming the storage,
// and the next checkpoint completes; nothing waits on the store client's own retries. The
// hang is real: the commit's temporary file (`_metadata.json.inprogress-<pid>-<thread>`) is a
// FIFO, so opening it for writing blocks until somebody reads it, as a write to an unresponsive
// mount or server does.
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { threadId } from 'node:worker_threads';
import { afterAll, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { createJobExecutor } from '../job/job-executor.ts';
import { keyedWindowGraph } from '../testing/keyed-window-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it('a metadata write that hangs aborts its checkpoint at the timeout; the next one completes', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'trib-meta-hang-'));
  dirs.push(stateDir);
  const graph = validateGraph(
    keyedWindowGraph({ rate: 2000, count: 1_000_000_000, seed: 3, keys: 50, windowSize: '5s' }),
  );
  const job = await createJobExecutor(graph, {
    parallelism: 2,
    maxParallelism: 128,
    sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
    // Retain: once checkpoint 2 completes, pruning would remove checkpoint 1's folder (aborted,
    // older than the newest) and the FIFO with it, racing the release below; a writer blocked on
    // an unlinked FIFO is never released.
    checkpointing: { stateDir, timeoutMs: 1500, keepAll: true },
  });
  const done = job.run();
  done.catch(() => undefined);
  try {
    while (job.status().recordsIn === 0) await sleep(10);
    // The coordinator has started (ids from 1 on an empty state folder): checkpoint 1's
    // metadata goes through this FIFO.
    const chk1 = join(stateDir, 'checkpoints', 'chk-1');
    await mkdir(chk1, { recursive: true });
    const fifo = join(chk1, `_metadata.json.inprogress-${process.pid}-${threadId}`);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);

    await expect(job.triggerCheckpoint()).rejects.toMatchObject({
      code: 'TRIB_CHECKPOINT_TIMEOUT',
      message: expect.stringContaining(
        `checkpoint 1 expired after 1500 ms while writing its metadata to the state storage ${stateDir}`,
      ),
    });
    // The slots' state files stay: the hanging write may still land and commit them.
    expect((await stat(chk1)).isDirectory()).toBe(true);

    const next = await job.triggerCheckpoint();
    expect(next.id).toBe(2);
    const meta = JSON.parse(await readFile(join(next.path, '_metadata.json'), 'utf8')) as { checkpointId: number };
    expect(meta.checkpointId).toBe(2);
    expect(job.status().lastCheckpoint?.id).toBe(2);

    // Release the blocked writer (asynchronously: it finishes on this process's event loop).
    // Its late commit changes nothing: checkpoint 1 is aborted and 2 is the latest.
    await promisify(execFile)('timeout', ['10', 'cat', fifo]);
    await sleep(100);
    expect(job.status().lastCheckpoint?.id).toBe(2);
  } finally {
    job.stop();
    await done.catch(() => undefined);
  }
}, 60_000);
