// File-level retention on the filesystem store (checkpoint-retention.ts): checkpoint folders and
// `_metadata.json` files written by hand, with handles that reference files of older folders
// (`from`, `deltas`) as incremental checkpoints write them; pruned, and what is left compared.
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointDir, completeCheckpoint, handle, stateFile, writeFiles } from '../testing/checkpoint-folders.ts';
import pino from 'pino';
import { BackgroundPruner } from './background-pruner.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-gc-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Every file under `<stateDir>/checkpoints`, as `chk-<id>/<name>`, sorted. */
async function tree(stateDir: string): Promise<string[]> {
  const root = join(stateDir, 'checkpoints');
  const out: string[] = [];
  for (const f of await readdir(root)) for (const n of await readdir(join(root, f))) out.push(`${f}/${n}`);
  return out.sort();
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * chk-1: a full base of slot 0 and of slot 1; chk-2: slot 0 a delta on chk-1's base, slot 1 a
 * new full file; chk-3: slot 0 one more delta on that chain, slot 1 a delta on chk-2's file.
 */
async function chain(stateDir: string): Promise<void> {
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
  await completeCheckpoint(
    stateDir,
    3,
    ['s.slot-0.kdelta', 's.slot-1.kdelta'],
    [
      handle(0, stateFile('s.slot-0.kstate', 'chk-1'), [
        stateFile('s.slot-0.kdelta', 'chk-2'),
        stateFile('s.slot-0.kdelta'),
      ]),
      handle(1, stateFile('s.slot-1.kstate', 'chk-2'), [stateFile('s.slot-1.kdelta')]),
    ],
  );
}

describe('file-level retention', () => {
  it('keeps a shared base while a kept checkpoint references it, removes it once none does', async () => {
    const stateDir = await tempDir();
    await chain(stateDir);
    const storage = new CheckpointStorage(stateDir);
    const first = await storage.prune(1);
    expect(first).toMatchObject({ kept: [3], dropped: [1, 2], removedFiles: ['chk-1/s.slot-1.kstate'] });
    expect(first.sharedFiles).toEqual(['chk-1/s.slot-0.kstate', 'chk-2/s.slot-0.kdelta', 'chk-2/s.slot-1.kstate']);
    // The dropped checkpoints are no longer restorable; their shared files stay.
    expect(await tree(stateDir)).toEqual([
      'chk-1/s.slot-0.kstate',
      'chk-2/s.slot-0.kdelta',
      'chk-2/s.slot-1.kstate',
      'chk-3/_metadata.json',
      'chk-3/s.slot-0.kdelta',
      'chk-3/s.slot-1.kdelta',
    ]);
    expect((await storage.completedCheckpoints()).map((c) => c.id)).toEqual([3]);

    // chk-4 is full again for slot 0 and still on chk-2's file for slot 1.
    await completeCheckpoint(
      stateDir,
      4,
      ['s.slot-0.kstate', 's.slot-1.kdelta'],
      [
        handle(0, stateFile('s.slot-0.kstate')),
        handle(1, stateFile('s.slot-1.kstate', 'chk-2'), [
          stateFile('s.slot-1.kdelta', 'chk-3'),
          stateFile('s.slot-1.kdelta'),
        ]),
      ],
    );
    const second = await storage.prune(1);
    expect(second).toMatchObject({ kept: [4], dropped: [3], removedFolders: [1] });
    expect(second.removedFiles.sort()).toEqual([
      'chk-1/s.slot-0.kstate',
      'chk-2/s.slot-0.kdelta',
      'chk-3/s.slot-0.kdelta',
    ]);
    expect(await tree(stateDir)).toEqual([
      'chk-2/s.slot-1.kstate',
      'chk-3/s.slot-1.kdelta',
      'chk-4/_metadata.json',
      'chk-4/s.slot-0.kstate',
      'chk-4/s.slot-1.kdelta',
    ]);
    expect(await exists(checkpointDir(stateDir, 1))).toBe(false);
    // Every removed key is recorded for the coordinator, across prunings.
    expect([...storage.removedFiles].sort()).toEqual([...first.removedFiles, ...second.removedFiles].sort());
  });

  it('checkpoints that reference nothing outside their folder are removed whole, as before', async () => {
    const stateDir = await tempDir();
    for (let id = 1; id <= 4; id++)
      await completeCheckpoint(stateDir, id, ['s.slot-0.kstate'], [handle(0, stateFile('s.slot-0.kstate'))]);
    const r = await new CheckpointStorage(stateDir).prune(2);
    expect(r).toMatchObject({ kept: [3, 4], dropped: [1, 2], removedFolders: [1, 2], sharedFiles: [] });
    expect(await readdir(join(stateDir, 'checkpoints'))).toEqual(expect.arrayContaining(['chk-3', 'chk-4']));
    expect((await readdir(join(stateDir, 'checkpoints'))).length).toBe(2);
  });

  it('removes the files of an abandoned folder below the newest, leaves one above it (in progress) untouched', async () => {
    const stateDir = await tempDir();
    await completeCheckpoint(stateDir, 1, ['s.slot-0.kstate'], [handle(0, stateFile('s.slot-0.kstate'))]);
    await writeFiles(stateDir, 2, ['s.slot-0.kdelta', '_metadata.json.inprogress-1-0']); // aborted
    await completeCheckpoint(
      stateDir,
      3,
      ['s.slot-0.kdelta'],
      [handle(0, stateFile('s.slot-0.kstate', 'chk-1'), [stateFile('s.slot-0.kdelta')])],
    );
    await writeFiles(stateDir, 4, ['s.slot-0.kdelta']); // in progress
    const r = await new CheckpointStorage(stateDir).prune(2);
    expect(r).toMatchObject({ kept: [1, 3], dropped: [], removedFolders: [2] });
    expect(r.removedFiles.sort()).toEqual(['chk-2/_metadata.json.inprogress-1-0', 'chk-2/s.slot-0.kdelta']);
    expect(await tree(stateDir)).toEqual([
      'chk-1/_metadata.json',
      'chk-1/s.slot-0.kstate',
      'chk-3/_metadata.json',
      'chk-3/s.slot-0.kdelta',
      'chk-4/s.slot-0.kdelta',
    ]);
  });

  it('keeps a file pinned (a compacted base a checkpoint in progress references), asked right before removal', async () => {
    const stateDir = await tempDir();
    await chain(stateDir);
    // A checkpoint in progress references a compacted base of a step the newest checkpoint does
    // not have (so no rule of retention's own keeps it); no metadata references it yet.
    const base = 't.slot-0.base-2.kstate';
    await writeFiles(stateDir, 2, [base]);
    const storage = new CheckpointStorage(stateDir);
    const asked: string[] = [];
    const r = await storage.prune(1, 3, (key) => {
      asked.push(key);
      // The removals before this question are recorded already.
      for (const k of asked.slice(0, -1)) if (k !== `chk-2/${base}`) expect(storage.removedFiles.has(k)).toBe(true);
      return key === `chk-2/${base}`;
    });
    expect(asked).toEqual(['chk-1/s.slot-1.kstate', `chk-2/${base}`]);
    expect(r.removedFiles).toEqual(['chk-1/s.slot-1.kstate']);
    expect(r.sharedFiles).toContain(`chk-2/${base}`);
    expect(await tree(stateDir)).toContain(`chk-2/${base}`);
    // Unpinned, the next pruning removes it (and records it: a checkpoint referencing it must not complete).
    const again = await storage.prune(1, 3, () => false);
    expect(again.removedFiles).toEqual([`chk-2/${base}`]);
    expect(storage.removedFiles.has(`chk-2/${base}`)).toBe(true);
  });

  it('keeps a compacted base a slot may still adopt, removes one no chain can take any more', async () => {
    const stateDir = await tempDir();
    await chain(stateDir);
    // chk-3's chain of slot 0 starts in chk-1, of slot 1 in chk-2 (see chain()).
    const adoptable = [
      'chk-2/s.slot-0.base-2.kstate',
      'chk-2/s.slot-1.base-2.kstate',
      // One still being written (fs-state-store.ts writes a temporary file, then renames it).
      'chk-2/s.slot-1.base-2.kstate.tmp-4242-0a1b2c3d',
    ];
    const stale = [
      'chk-1/s.slot-1.base-1.kstate', // slot 1's chain starts after chk-1 now
      'chk-1/s.slot-1.base-1.kstate.tmp-4242-0a1b2c3d', // …and a write of it a crash left
      'chk-1/s.slot-0.base-2.kstate', // not in its own checkpoint's folder: not a compacted base
      'chk-2/s.slot-7.base-2.kstate', // no slot 7 in the newest checkpoint
    ];
    for (const key of [...adoptable, ...stale]) {
      const [folder, name] = key.split('/') as [string, string];
      await writeFiles(stateDir, Number(folder.slice(4)), [name]);
    }
    const r = await new CheckpointStorage(stateDir).prune(1, 3, () => false);
    expect(r.removedFiles.sort()).toEqual(['chk-1/s.slot-1.kstate', ...stale].sort());
    const left = await tree(stateDir);
    for (const key of adoptable) expect(left).toContain(key);
    for (const key of stale) expect(left).not.toContain(key);
  });

  it('a corrupt metadata (kept or dropped) removes nothing and names it', async () => {
    for (const [id, body] of [
      [3, '{"format": "tributary-checkpoint", "operat'],
      [1, 'not json'],
    ] as const) {
      const stateDir = await tempDir();
      await chain(stateDir);
      await writeFiles(stateDir, 4, []);
      await writeFile(join(checkpointDir(stateDir, id), '_metadata.json'), body);
      const before = await tree(stateDir);
      const storage = new CheckpointStorage(stateDir);
      await expect(storage.prune(1)).rejects.toMatchObject({
        code: 'TRIB_RESTORE_METADATA_CORRUPT',
        message: expect.stringContaining(`chk-${id}`) as unknown,
      });
      expect(await tree(stateDir)).toEqual(before);
      expect(storage.removedFiles.size).toBe(0);
    }
  });

  it('a reference it cannot resolve removes nothing and names the field', async () => {
    const stateDir = await tempDir();
    await chain(stateDir);
    await completeCheckpoint(
      stateDir,
      4,
      ['s.slot-0.kdelta'],
      [handle(0, stateFile('s.slot-0.kstate', 'chk-1'), [stateFile('s.slot-0.kdelta', '../../elsewhere')])],
    );
    const before = await tree(stateDir);
    await expect(new CheckpointStorage(stateDir).prune(1)).rejects.toMatchObject({
      code: 'TRIB_RESTORE_METADATA_CORRUPT',
      message: expect.stringContaining(
        'checkpoint chk-4: _metadata.json field operators["s"].keyed[0].deltas[0].from',
      ) as unknown,
    });
    expect(await tree(stateDir)).toEqual(before);
  });

  it('keeps keepId whole besides the retained ones, and refuses to keep none', async () => {
    const stateDir = await tempDir();
    await chain(stateDir);
    const storage = new CheckpointStorage(stateDir);
    const r = await storage.prune(1, 2);
    expect(r).toMatchObject({ kept: [2, 3], dropped: [1], removedFiles: ['chk-1/s.slot-1.kstate'] });
    await expect(storage.prune(0)).rejects.toMatchObject({ code: 'TRIB_JOB_CONFIG' });
    expect((await storage.completedCheckpoints()).map((c) => c.id)).toEqual([2, 3]);
  });

  it('in the background: an unreadable metadata is logged as an error, nothing removed; the removed keys exposed', async () => {
    const stateDir = await tempDir();
    await chain(stateDir);
    const lines: { level: number; msg: string; code?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as never) });
    const storage = new CheckpointStorage(stateDir);
    const pruner = new BackgroundPruner(storage, 1, logger, (key) => key === 'chk-1/s.slot-1.kstate');
    await writeFile(join(checkpointDir(stateDir, 2), '_metadata.json'), '{');
    const before = await tree(stateDir);
    pruner.prune(3);
    await pruner.idle();
    expect(await tree(stateDir)).toEqual(before);
    expect(lines).toEqual([expect.objectContaining({ level: 50, code: 'TRIB_RESTORE_METADATA_CORRUPT' })]);
    await rm(join(checkpointDir(stateDir, 2), '_metadata.json'));
    await writeFiles(stateDir, 2, ['s.slot-9.kstate']);
    pruner.prune(3);
    await pruner.idle();
    expect([...pruner.removedFiles]).toEqual(['chk-2/s.slot-9.kstate']); // pinned: chk-1/s.slot-1.kstate stays
    expect(await tree(stateDir)).toContain('chk-1/s.slot-1.kstate');
  });
});
