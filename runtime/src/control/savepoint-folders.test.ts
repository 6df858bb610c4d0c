// GET /v1/savepoints' listing on savepoints a real coordinator wrote: complete ones with their
// trigger time, an abandoned folder as incomplete, and a damaged metadata file as an error.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import type { SlotCheckpointPort, TriggerCheckpoint } from '../checkpoint/messages.ts';
import { listSavepointFolders } from './savepoint-folders.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** One slot that acknowledges every trigger with one state file. */
function ackingSlot(ack: (t: TriggerCheckpoint) => void): SlotCheckpointPort {
  return { trigger: ack, notifyComplete: () => undefined, notifyAborted: () => undefined };
}

describe('listSavepointFolders', () => {
  it('lists complete savepoints with their trigger time and abandoned folders as incomplete; fails on damaged metadata', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-spfolders-'));
    dirs.push(stateDir);
    expect(await listSavepointFolders(stateDir)).toEqual([]);
    const slot = ackingSlot((t) => {
      void CheckpointStorage.writeStateFile(t.dir, 'w.slot-0.kstate', new Uint8Array([1, 2])).then((f) =>
        c.acknowledge({
          slot: 0,
          checkpointId: t.checkpointId,
          operators: { w: { ...f, keyGroupRange: { start: 0, end: 127 } } },
          sources: {},
          sinks: {},
          stateSize: 2,
          alignmentMs: 0,
        }),
      );
    });
    const c: CheckpointCoordinator = new CheckpointCoordinator({
      stateDir,
      slots: [slot],
      maxParallelism: 128,
      graphHash: 'g',
      timeoutMs: 10_000,
    });
    await c.start();
    const before = Date.now();
    const sp = await c.trigger('savepoint', false);
    await c.trigger('checkpoint', false); // checkpoints are not listed
    c.stop();
    await mkdir(join(stateDir, 'savepoints', 'sp-99'), { recursive: true }); // abandoned: no metadata
    await mkdir(join(stateDir, 'savepoints', 'not-a-savepoint'), { recursive: true });
    const listed = await listSavepointFolders(stateDir);
    expect(listed.map((f) => [f.name, f.id, f.complete])).toEqual([
      [`sp-${sp.id}`, sp.id, true],
      ['sp-99', 99, false],
    ]);
    expect(Date.parse(listed[0]?.triggeredAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
    await writeFile(join(stateDir, 'savepoints', `sp-${sp.id}`, '_metadata.json'), '{"trunc');
    await expect(listSavepointFolders(stateDir)).rejects.toMatchObject({ code: 'TRIB_RESTORE_METADATA_CORRUPT' });
  });
});
