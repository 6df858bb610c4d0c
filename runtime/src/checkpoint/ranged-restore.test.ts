// Ranged restore on the local filesystem (positioned reads): a slot whose key-group range is
// a strict part of an old slot's file reads only the indexed sections it needs, the job
// rescaled 2 → 4 → 1 that way has exactly the output of an uninterrupted run, a corrupted
// section is refused by its CRC-32 (ranged) or the file's SHA-256 (whole), and files without
// an index (written before it existed) are still read whole.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  corruptOneSection,
  loadForSlots,
  referenceOutput,
  rescaleThroughRanges,
  type RangedRescale,
} from '../testing/ranged-restore.ts';
import { METADATA_FILE } from './checkpoint-storage.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('ranged restore (filesystem)', () => {
  let run: RangedRescale;

  it('rescale 2 → 4 slot by slot reads strictly less than whole files; 4 → 1 reads whole files; output exact', async () => {
    const ref = await referenceOutput();
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-ranged-'));
    dirs.push(stateDir);
    run = await rescaleThroughRanges(stateDir);
    expect(run.output).toEqual(ref);
    for (const f of run.perSlot) {
      // Each new slot of 4 owns half of one old slot's key groups: one file, read in part.
      expect(f).toMatchObject({ rangedFiles: 1, wholeFiles: 0, skippedFiles: 1 });
      expect(f.bytesRead).toBeGreaterThan(0);
      expect(f.bytesRead).toBeLessThan(f.fileBytes * 0.75);
    }
    expect(run.toOne).toMatchObject({ rangedFiles: 0, wholeFiles: 4, skippedFiles: 0 });
    expect(run.toOne.bytesRead).toBe(run.toOne.fileBytes);
  }, 60_000);

  it('a corrupted section fails its CRC-32 when read as a range, the SHA-256 when read whole', async () => {
    const bad = await corruptOneSection(run.sp2);
    await expect(loadForSlots(run.sp2, 4, [bad.slotOfFour])).rejects.toMatchObject({
      code: 'TRIB_RESTORE_RANGE_CHECKSUM',
      message: expect.stringContaining(`state file ${bad.file}, bytes ${bad.first}-${bad.last}`) as unknown,
    });
    // A slot that does not need the corrupted section restores (it never reads those bytes).
    await expect(loadForSlots(run.sp2, 4, [bad.slotOfFour === 0 ? 1 : 0])).resolves.toBeDefined();
    await expect(loadForSlots(run.sp2, 1)).rejects.toMatchObject({ code: 'TRIB_RESTORE_CHECKSUM' });
  });

  it('metadata without an index or key-group lists (older checkpoints) is read whole; a broken index is refused', async () => {
    const meta = join(run.sp4, METADATA_FILE);
    const m = JSON.parse(await readFile(meta, 'utf8')) as { operators: Record<string, { keyed: object[] }> };
    // Older checkpoints have neither the index nor the key groups per file (listed-key-groups.ts).
    for (const op of Object.values(m.operators))
      for (const f of op.keyed) {
        expect((f as { keyGroups?: unknown }).keyGroups).toHaveLength(1);
        delete (f as { index?: unknown }).index;
        delete (f as { keyGroups?: unknown }).keyGroups;
      }
    await writeFile(meta, JSON.stringify(m));
    const old = await loadForSlots(run.sp4, 8, [0]);
    expect(old.fetched).toMatchObject({ rangedFiles: 0, wholeFiles: 1, skippedFiles: 3 });
    // A malformed list is refused before any file is read.
    (Object.values(m.operators)[0]?.keyed[1] as { keyGroups?: unknown }).keyGroups = [[40, 35]];
    await writeFile(meta, JSON.stringify(m));
    await expect(loadForSlots(run.sp4, 8, [0])).rejects.toMatchObject({
      code: 'TRIB_RESTORE_METADATA_CORRUPT',
      message: expect.stringMatching(/keyGroups run 40-35 is not ascending/) as unknown,
    });
    delete (Object.values(m.operators)[0]?.keyed[1] as { keyGroups?: unknown }).keyGroups;
    for (const op of Object.values(m.operators))
      for (const f of op.keyed) (f as { index?: unknown }).index = { headerLength: 12, headerCrc32: 0, sections: [] };
    await writeFile(meta, JSON.stringify(m));
    await expect(loadForSlots(run.sp4, 8, [0])).rejects.toMatchObject({
      code: 'TRIB_RESTORE_METADATA_CORRUPT',
      message: expect.stringMatching(/index ends at byte 12/) as unknown,
    });
  });
});
