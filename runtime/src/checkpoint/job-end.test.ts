// A job's run() resolves only after every file it was writing to its state location settled,
// those of a checkpoint aborted by the stop or crash included — the slots' state files and the
// coordinator's id mark and metadata: callers (the supervisor, tests, benchmarks) remove or
// reuse the state directory right after. Before, a write in flight at the end recreated files
// in a directory being removed (ENOTEMPTY) or after it was gone.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobExecutor } from '../job/job-executor.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { oneKeyPerRecordGraph } from '../testing/graphs.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { ID_MARK_FILE } from './checkpoint-id-mark.ts';
import { FsStateStore } from './storage/fs-state-store.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const graph = validateGraph(oneKeyPerRecordGraph(11));

describe('job end and checkpoint files', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('run() resolves only after the state files of a checkpoint in flight at the stop settled: the state directory can be removed at once', async () => {
    // A slow disk (the real one is too fast to hit the window on demand): every state file lands 300 ms late.
    const write = CheckpointStorage.writeStateFile.bind(CheckpointStorage);
    let inFlight = 0;
    vi.spyOn(CheckpointStorage, 'writeStateFile').mockImplementation(async (...args) => {
      inFlight++;
      try {
        await sleep(300);
        return await write(...args);
      } finally {
        inFlight--;
      }
    });
    for (let round = 0; round < 2; round++) {
      const dir = await mkdtemp(join(tmpdir(), 'trib-end-'));
      const job = new JobExecutor(graph, {
        parallelism: 2,
        logger: silentLogger(),
        sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
        checkpointing: { stateDir: dir, intervalMs: 15, retained: 1 },
      });
      const done = job.run();
      await sleep(50 + round * 200);
      while (inFlight === 0) await sleep(2);
      job.stop(); // a checkpoint's state files are being written now
      await done;
      expect(inFlight, `round ${round}: run() resolved with state files still being written`).toBe(0);
      await rm(dir, { recursive: true });
      await sleep(100);
      expect(existsSync(dir)).toBe(false);
    }
  });

  for (const end of ['stop', 'crash'] as const)
    it(`run() resolves only after the coordinator's id mark and metadata writes settled (${end})`, async () => {
      // A slow disk under the coordinator's own files: each lands 300 ms late.
      const write = FsStateStore.prototype.write;
      const commit = FsStateStore.prototype.commit;
      const inFlight = { mark: 0, metadata: 0 };
      const slow = async (what: keyof typeof inFlight, op: () => Promise<void>): Promise<void> => {
        inFlight[what]++;
        try {
          await sleep(300);
          await op();
        } finally {
          inFlight[what]--;
        }
      };
      vi.spyOn(FsStateStore.prototype, 'write').mockImplementation(function (this: FsStateStore, location, body) {
        return location.endsWith(ID_MARK_FILE)
          ? slow('mark', () => write.call(this, location, body))
          : write.call(this, location, body);
      });
      vi.spyOn(FsStateStore.prototype, 'commit').mockImplementation(function (this: FsStateStore, location, body) {
        return slow('metadata', () => commit.call(this, location, body));
      });
      // One round ends with the id mark being written, the other with the metadata.
      for (const what of ['mark', 'metadata'] as const) {
        const dir = await mkdtemp(join(tmpdir(), 'trib-end-'));
        const job = new JobExecutor(graph, {
          parallelism: 2,
          logger: silentLogger(),
          sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
          checkpointing: { stateDir: dir, intervalMs: 15, retained: 1 },
        });
        const done = job.run();
        done.catch(() => undefined);
        while (inFlight[what] === 0) await sleep(2);
        if (end === 'stop') job.stop();
        else job.crash();
        await done.catch(() => undefined);
        expect(inFlight, `${end} with the ${what} being written: run() settled before it`).toEqual({
          mark: 0,
          metadata: 0,
        });
        await rm(dir, { recursive: true });
        await sleep(400);
        expect(existsSync(dir), `${end} with the ${what} being written: a late write recreated the directory`).toBe(
          false,
        );
      }
    });
});
