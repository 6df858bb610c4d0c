// File-level retention on a real S3-compatible server (the local cluster's versitygw): after
// pruning, a LIST of the bucket holds exactly the objects the kept checkpoints reference (their
// own files and the shared ones in older folders, `from`) plus their `_metadata.json` files —
// for hand-built checkpoints whose chains span folders, and for the incremental checkpoints a
// real job wrote, each kept file then read back and checked against its size and SHA-256.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { listKeys } from '../../../../test/harness/s3-state-storage.ts';
import { validateGraph } from '../../connectors/validate-graph.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import { completeCheckpoint, handle, stateFile, writeFiles } from '../../testing/checkpoint-folders.ts';
import { keyedWindowGraph } from '../../testing/keyed-window-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../../testing/transactional-sink.ts';
import { CheckpointStorage, sha256Hex } from '../checkpoint-storage.ts';
import { readMetadata } from '../metadata.ts';
import { referencedFiles } from '../referenced-files.ts';
import { adoptableBases } from '../compacted-base.ts';
import { stateStoreFor } from './state-store-for.ts';
import { baseName, childOf } from './state-uri.ts';

const bucket = process.env.TRIBUTARY_S3_BUCKET as string;
const run = `it-gc-${randomUUID().slice(0, 8)}`;
const root = `s3://${bucket}/${run}`;
afterAll(async () => {
  await stateStoreFor(root).removeTree(root);
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every object under `<stateDir>/checkpoints/`, as `chk-<id>/<name>`, listed by the S3 SDK (not our store). */
async function listed(name: string): Promise<string[]> {
  const prefix = `${run}/${name}/checkpoints/`;
  return (await listKeys(prefix)).map((k) => k.slice(prefix.length));
}

/** What the completed checkpoints need: every file they reference and their metadata. */
async function needed(stateDir: string): Promise<{ keys: string[]; kept: number[] }> {
  const complete = await new CheckpointStorage(stateDir).completedCheckpoints();
  const keys = new Set<string>();
  for (const c of complete) {
    keys.add(`${baseName(c.path)}/_metadata.json`);
    for (const k of referencedFiles(await readMetadata(c.path), baseName(c.path))) keys.add(k);
  }
  return { keys: [...keys].sort(), kept: complete.map((c) => c.id) };
}

describe('file-level retention on S3 (versitygw)', () => {
  it('hand-built chains: the bucket holds exactly what the kept checkpoints reference, and their metadata', async () => {
    const stateDir = `${root}/chains`;
    await completeCheckpoint(
      stateDir,
      1,
      ['s.slot-0.kstate', 's.slot-1.kstate'],
      [handle(0, stateFile('s.slot-0.kstate')), handle(1, stateFile('s.slot-1.kstate'))],
    );
    await completeCheckpoint(
      stateDir,
      2,
      ['s.slot-0.kdelta', 's.slot-1.kstate'],
      [
        handle(0, stateFile('s.slot-0.kstate', 'chk-1'), [stateFile('s.slot-0.kdelta')]),
        handle(1, stateFile('s.slot-1.kstate')),
      ],
    );
    await writeFiles(stateDir, 3, ['s.slot-0.kdelta', '_metadata.json.inprogress-1-0']); // aborted
    await completeCheckpoint(
      stateDir,
      4,
      ['s.slot-0.kdelta'],
      [
        handle(0, stateFile('s.slot-0.kstate', 'chk-1'), [
          stateFile('s.slot-0.kdelta', 'chk-2'),
          stateFile('s.slot-0.kdelta'),
        ]),
        handle(1, stateFile('s.slot-1.kstate', 'chk-2')),
      ],
    );
    const storage = new CheckpointStorage(stateDir);
    const r = await storage.prune(1);
    expect(r).toMatchObject({ kept: [4], dropped: [1, 2] });
    expect(r.removedFiles.sort()).toEqual([
      'chk-1/s.slot-1.kstate',
      'chk-3/_metadata.json.inprogress-1-0',
      'chk-3/s.slot-0.kdelta',
    ]);
    expect(await listed('chains')).toEqual([
      'chk-1/s.slot-0.kstate',
      'chk-2/s.slot-0.kdelta',
      'chk-2/s.slot-1.kstate',
      'chk-4/_metadata.json',
      'chk-4/s.slot-0.kdelta',
    ]);
    expect(await listed('chains')).toEqual((await needed(stateDir)).keys);

    // A full checkpoint on top: nothing older is referenced any more, so nothing older is left.
    await completeCheckpoint(
      stateDir,
      5,
      ['s.slot-0.kstate', 's.slot-1.kstate'],
      [handle(0, stateFile('s.slot-0.kstate')), handle(1, stateFile('s.slot-1.kstate'))],
    );
    await storage.prune(1);
    expect(await listed('chains')).toEqual(['chk-5/_metadata.json', 'chk-5/s.slot-0.kstate', 'chk-5/s.slot-1.kstate']);
  }, 60_000);

  it('a job’s incremental checkpoints: after pruning exactly the referenced objects are left, each intact', async () => {
    const stateDir = `${root}/job`;
    const graph = validateGraph(keyedWindowGraph({ rate: 10_000, count: 30_000, seed: 7, keys: 97, windowSize: '5s' }));
    const job = await createJobExecutor(graph, {
      parallelism: 2,
      maxParallelism: 128,
      sinkWriter: () => new TransactionalCollectingSink(new TransactionStore()),
      checkpointing: { stateDir, intervalMs: 100, retained: 2, timeoutMs: 20_000 },
    });
    const done = job.run();
    done.catch(() => undefined);
    const storage = new CheckpointStorage(stateDir);
    for (let i = 0; i < 300 && ((await storage.latestCompletedCheckpoint())?.id ?? 0) < 5; i++) await sleep(50);
    job.stop();
    await done;
    // The job's own pruning runs in the background, not awaited by its end: let it finish first
    // (a pruning that finds a metadata gone under it stops, removing nothing, and is run again).
    for (let i = 0; i < 300 && (await storage.completedCheckpoints()).length > 2; i++) await sleep(50);
    let r = await storage.prune(2).catch((e: unknown) => e as Error);
    for (let i = 0; i < 20 && r instanceof Error; i++) {
      expect(r).toMatchObject({ code: 'TRIB_RESTORE_METADATA_MISSING' });
      await sleep(200);
      r = await storage.prune(2).catch((e: unknown) => e as Error);
    }
    if (r instanceof Error) throw r;
    const { keys, kept } = await needed(stateDir);
    expect(kept).toEqual(r.kept);
    expect(kept.length).toBe(2);
    const newest = kept[kept.length - 1] as number;
    // Folders above the newest may be an aborted checkpoint of the stop: not touched, not compared.
    const inScope = (await listed('job')).filter((k) => Number(k.slice(4, k.indexOf('/'))) <= newest);
    // Kept checkpoints are kept whole: a chain compacted into a kept folder after its metadata was
    // written (`<step>.slot-<s>.base-<id>.kstate`) stays for the checkpoint that would reference
    // it; so does one in a dropped folder that the newest chain of its step and slot could adopt.
    const adoptable = adoptableBases(newest, await readMetadata(childOf(stateDir, 'checkpoints', `chk-${newest}`)));
    const compacted = (k: string): boolean =>
      (kept.some((id) => k.startsWith(`chk-${id}/`)) && /\.base-\d+\.kstate$/.test(k)) || adoptable(k);
    expect(inScope.filter((k) => !compacted(k) || keys.includes(k))).toEqual(keys);
    // The kept checkpoints share files in older folders (their chains started below them).
    const shared = keys.filter((k) => !kept.some((id) => k.startsWith(`chk-${id}/`)));
    if (newest <= 8) expect(shared.length).toBeGreaterThan(0);
    // Every file a kept checkpoint references is there and intact.
    for (const id of kept) {
      const meta = await readMetadata(childOf(stateDir, 'checkpoints', `chk-${id}`));
      for (const { keyed } of Object.values(meta.operators))
        for (const h of keyed)
          for (const f of [h, ...(h.deltas ?? [])]) {
            const bytes = await stateStoreFor(stateDir).read(
              childOf(stateDir, 'checkpoints', f.from ?? `chk-${id}`, f.file),
            );
            expect(bytes && sha256Hex(bytes), `chk-${id} → ${f.from ?? `chk-${id}`}/${f.file}`).toBe(f.sha256);
          }
    }
  }, 90_000);
});
