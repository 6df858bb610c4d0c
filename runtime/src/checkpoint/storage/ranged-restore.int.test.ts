// Ranged restore on a real S3-compatible server (the local cluster's versitygw): a job rescaled
// 2 → 4 slot by slot fetches of each old state file only its key groups' byte ranges (ranged
// GETs) and 4 → 1 whole files, with exactly the output of an uninterrupted run; a corrupted
// object is refused by the CRC-32 of the range that covers the corrupted bytes, naming the
// file and the range, and by the whole file's SHA-256 when read whole.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  corruptOneSection,
  loadForSlots,
  referenceOutput,
  rescaleThroughRanges,
  type RangedRescale,
} from '../../testing/ranged-restore.ts';
import { stateStoreFor } from './state-store-for.ts';

const root = `s3://${process.env.TRIBUTARY_S3_BUCKET as string}/it-ranged-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  await stateStoreFor(root).removeTree(root);
});

describe('ranged restore on S3 (versitygw)', () => {
  let run: RangedRescale;

  it('rescale 2 → 4 fetches strictly less than whole files per slot, 4 → 1 whole files; output exact', async () => {
    const ref = await referenceOutput();
    run = await rescaleThroughRanges(`${root}/rescale`);
    expect(run.sp2).toMatch(/^s3:\/\//);
    expect(run.output).toEqual(ref);
    for (const f of run.perSlot) {
      expect(f).toMatchObject({ rangedFiles: 1, wholeFiles: 0, skippedFiles: 1 });
      expect(f.bytesRead).toBeGreaterThan(0);
      expect(f.bytesRead).toBeLessThan(f.fileBytes * 0.75);
    }
    // The four slots together fetched about one copy of the old state, not four.
    const total = run.perSlot.reduce((a, f) => a + f.bytesRead, 0);
    const fileBytes = run.perSlot.reduce((a, f) => a + f.fileBytes, 0) / 2;
    expect(total).toBeLessThan(fileBytes * 1.25);
    expect(run.toOne).toMatchObject({ rangedFiles: 0, wholeFiles: 4, skippedFiles: 0 });
    expect(run.toOne.bytesRead).toBe(run.toOne.fileBytes);
  }, 90_000);

  it('a corrupted object fails the CRC-32 of the range read (file and bytes named), the SHA-256 read whole', async () => {
    const bad = await corruptOneSection(run.sp2);
    await expect(loadForSlots(run.sp2, 4, [bad.slotOfFour])).rejects.toMatchObject({
      code: 'TRIB_RESTORE_RANGE_CHECKSUM',
      message: expect.stringContaining(`state file ${bad.file}, bytes ${bad.first}-${bad.last}`) as unknown,
    });
    await expect(loadForSlots(run.sp2, 4, [bad.slotOfFour === 0 ? 1 : 0])).resolves.toBeDefined();
    await expect(loadForSlots(run.sp2, 1)).rejects.toMatchObject({ code: 'TRIB_RESTORE_CHECKSUM' });
  }, 30_000);
});
