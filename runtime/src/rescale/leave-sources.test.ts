// A leaving slot's sources end only when they own no partition (leave-sources.ts): one that still reads a
// partition no step moved fails the scale in, naming it, and no source of that slot is stopped.
import { describe, expect, it } from 'vitest';
import type { SlotParts } from '../exec/slot-builder.ts';
import { endLeavingSources } from './leave-sources.ts';

function slot(index: number, owned: number[][]): { parts: SlotParts; stopped: string[] } {
  const stopped: string[] = [];
  const sources = owned.map((o, i) => ({
    sourceName: `src${i}`,
    reader: { ownedPartitions: () => o },
    requestStop: () => stopped.push(`src${i}`),
  }));
  return { parts: { slot: { index }, sources } as unknown as SlotParts, stopped };
}

describe('a leaving slot’s sources', () => {
  it('end when they own nothing', () => {
    const s = slot(2, [[], []]);
    endLeavingSources(s.parts);
    expect(s.stopped).toEqual(['src0', 'src1']);
  });

  it('fail the scale in, naming slot, source and partitions, when one still reads a partition', () => {
    const s = slot(2, [[], [5, 9]]);
    expect(() => endLeavingSources(s.parts)).toThrow(
      expect.objectContaining({
        code: 'TRIB_RESCALE_STEP_FAILED',
        message: expect.stringMatching(/slot 2 cannot leave: source "src1" still reads partition\(s\) 5, 9/),
      }),
    );
    expect(s.stopped).toEqual([]);
  });
});
