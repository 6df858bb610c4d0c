// A checkpoint lists the key groups each keyed-state file holds (`keyGroups`), and a restore
// reads a key group from the file that lists it (listed-key-groups.ts). The checkpoint here is
// taken after key groups 60..63 moved from slot 0 to slot 1 of 2 (docs/design/live-rescale.md):
// slot 0's snapshot still spans 0..63, slot 1's spans 60..127.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalKey, keyGroupRangeForSlot, type KeyGroupRange } from '../state/key-groups.ts';
import { extractKeyGroups, installKeyGroups } from '../state/key-group-handoff.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { checkListedKeyGroups } from './listed-key-groups.ts';
import type { CheckpointAck } from './messages.ts';
import { metadataFromAcks, type CheckpointMetadata, type KeyedStateFile } from './metadata.ts';
import { SlotCheckpointer } from './slot-checkpointer.ts';
import { boundedRunner, newFetchStats, readKeyedStateFile, type FetchStats } from './state-file-reader.ts';

const MAXP = 128;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** One key per key group 0..127 (`k<kg>` → kg), written at its owner before the move. */
function slotsAfterMove(): KeyedStateBackend[] {
  const slots = [0, 1].map((s) => new KeyedStateBackend(MAXP, keyGroupRangeForSlot(s, 2, MAXP)));
  for (let kg = 0; kg < MAXP; kg++)
    (slots[kg < 64 ? 0 : 1] as KeyedStateBackend).state('v').put(kg, canonicalKey([`k${kg}`]), kg);
  installKeyGroups(
    slots[1] as KeyedStateBackend,
    extractKeyGroups(slots[0] as KeyedStateBackend, [60, 61, 62, 63], 'slot 0'),
    'slot 1',
  );
  return slots;
}

async function checkpoint(dir: string, backends: KeyedStateBackend[]): Promise<CheckpointMetadata> {
  const acks: CheckpointAck[] = [];
  for (const [slot, b] of backends.entries()) {
    const cp = new SlotCheckpointer({
      slot,
      post: (cb) => cb(),
      coordinator: { acknowledge: (a) => acks.push(a), decline: (d) => expect.fail(d.reason) },
      logger: silentLogger(),
      onComplete: () => {},
      onAborted: () => {},
    });
    const task = { done: false, finalSnapshot: () => ({ keyed: [], sources: [], sinks: [], alignmentMs: 0 }) };
    const i = cp.registerTask(task, {
      name: 'source:in',
      injectBarrier: (barrier) => {
        cp.taskSnapshot(barrier.id, i, {
          keyed: [{ step: 'agg', bytes: b.snapshot() }],
          sources: [],
          sinks: [],
          alignmentMs: 0,
        });
        return true;
      },
    });
    cp.trigger({ checkpointId: 1, timestamp: 0, kind: 'checkpoint', stop: false, dir });
  }
  await vi.waitFor(() => expect(acks).toHaveLength(backends.length));
  const head = {
    kind: 'checkpoint' as const,
    checkpointId: 1,
    graphHash: 'g',
    parallelism: 2,
    maxParallelism: MAXP,
    triggeredAt: '',
  };
  return metadataFromAcks(
    head,
    acks.sort((a, b) => a.slot - b.slot),
  ).meta;
}

/** What a backend for `wanted` restores from the files of `meta` (as readRestore reads them), and what was fetched. */
async function restore(
  dir: string,
  files: KeyedStateFile[],
  wanted: KeyGroupRange,
): Promise<{ kgs: number[]; fetched: FetchStats }> {
  checkListedKeyGroups(dir, 'agg', files, MAXP);
  const fetched = newFetchStats();
  const run = boundedRunner(8);
  const snaps = await Promise.all(files.map((f) => readKeyedStateFile(dir, f, [wanted], run, fetched)));
  const b = new KeyedStateBackend(MAXP, wanted);
  b.state('v');
  b.restore(snaps.filter((s): s is Uint8Array => s !== undefined));
  return {
    kgs: [...b.state<number>('v').entries()].map(([kg, key, v]) => (expect(key).toBe(canonicalKey([`k${v}`])), kg)),
    fetched,
  };
}

const range = (start: number, end: number): number[] => Array.from({ length: end - start + 1 }, (_, i) => start + i);
const files = (m: CheckpointMetadata): KeyedStateFile[] => structuredClone(m.operators['agg']?.keyed ?? []);

describe('keyGroups per state file', () => {
  let dir: string;
  let meta: CheckpointMetadata;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'listed-kg-'));
    dirs.push(dir);
    meta = await checkpoint(dir, slotsAfterMove());
  });

  it('are recorded beside the span, and every key group restores once at any parallelism', async () => {
    expect(files(meta).map((f) => [f.slot, f.keyGroupRange, f.keyGroups])).toEqual([
      [0, { start: 0, end: 63 }, [[0, 59]]],
      [1, { start: 60, end: 127 }, [[60, 127]]],
    ]);
    for (const p of [1, 2, 3])
      for (let s = 0; s < p; s++) {
        const r = keyGroupRangeForSlot(s, p, MAXP);
        expect((await restore(dir, files(meta), r)).kgs).toEqual(range(r.start, r.end));
      }
  });

  it('old metadata without lists (and without an index) restores by the range rule as before', async () => {
    const old = files(meta).map(({ keyGroups: _l, index: _i, ...f }) => f);
    for (const r of [keyGroupRangeForSlot(0, 2, MAXP), { start: 0, end: 127 }])
      expect((await restore(dir, old, r)).kgs).toEqual(range(r.start, r.end));
  });

  it('a file is not read for key groups in its span that it does not list', async () => {
    const noIndex = files(meta).map(({ index: _i, ...f }) => f);
    const { kgs, fetched } = await restore(dir, noIndex, { start: 60, end: 63 });
    expect(kgs).toEqual([60, 61, 62, 63]);
    // Slot 0's file spans 60..63 but lists only 0..59: not fetched at all.
    expect(fetched).toMatchObject({ skippedFiles: 1, wholeFiles: 1 });
  });

  it('a file holding a key group its list does not name is refused, indexed or not', async () => {
    const short = files(meta);
    (short[1] as KeyedStateFile).keyGroups = [[64, 127]];
    const refused = {
      code: 'TRIB_RESTORE_METADATA_CORRUPT',
      message: expect.stringContaining('holds key group 60') as unknown,
    };
    await expect(restore(dir, short, { start: 0, end: 127 })).rejects.toMatchObject(refused);
    delete (short[1] as KeyedStateFile).index;
    await expect(restore(dir, short, { start: 0, end: 127 })).rejects.toMatchObject(refused);
  });

  it('a key group listed by two files, or a malformed list, is refused before anything is read', () => {
    const twice = files(meta);
    (twice[0] as KeyedStateFile).keyGroups = [[0, 61]];
    expect(() => checkListedKeyGroups(dir, 'agg', twice, MAXP)).toThrow(/key group 60 is listed by two state files/);
    for (const bad of [
      [[5, 3]],
      [
        [0, 10],
        [8, 20],
      ],
      [[0, 64]],
      [[1.5, 3]],
      'all',
    ] as unknown[]) {
      const f = files(meta);
      (f[0] as { keyGroups: unknown }).keyGroups = bad;
      expect(() => checkListedKeyGroups(dir, 'agg', f, MAXP)).toThrow(
        expect.objectContaining({ code: 'TRIB_RESTORE_METADATA_CORRUPT' }),
      );
    }
  });
});
