// The page's keyed state (page/keyed-state.js) from the API's nodes: the graph box's line and the
// "Keyed state" table, summed over slots and per slot, as the model carries them.
import { describe, expect, it } from 'vitest';
// @ts-expect-error the page's plain JavaScript module (typed by JSDoc, not part of the TS project)
import { STATE_COLUMNS, stateLine, stateRows } from './page/keyed-state.js';
import type { DashboardNode } from './model.ts';

const disk: DashboardNode = {
  id: 'agg',
  role: 'step',
  kind: 'aggregate',
  keyedState: {
    backend: 'disk',
    keys: 42_000,
    fullSnapshotBytes: 3 * 1024 * 1024,
    deltaBytes: 2048,
    localBytes: 12 * 1024 * 1024,
    cachedEntries: 5_000,
    slots: [
      { slot: 0, backend: 'disk', keys: 12_000, deltaBytes: 2048, localBytes: 4 * 1024 * 1024, cachedEntries: 2_000 },
      {
        slot: 1,
        backend: 'disk',
        keys: 30_000,
        fullSnapshotBytes: 3 * 1024 * 1024,
        localBytes: 8 * 1024 * 1024,
        cachedEntries: 3_000,
      },
    ],
  },
};
const heap: DashboardNode = {
  id: 'dedupe',
  role: 'step',
  kind: 'dedupe',
  keyedState: {
    backend: 'heap',
    keys: 7,
    fullSnapshotBytes: 512,
    slots: [{ slot: 0, backend: 'heap', keys: 7, fullSnapshotBytes: 512 }],
  },
};
const plain: DashboardNode = { id: 'src', role: 'source', kind: 'kafka', inRate: 5 };

describe('the page’s keyed state', () => {
  it('puts keys and the bounding size in a stateful step’s box, nothing in another’s', () => {
    expect(stateLine(disk.keyedState)).toBe('42.0k keys · disk 12.0 MiB');
    expect(stateLine(heap.keyedState)).toBe('7 keys · snapshot 512 B');
    expect(stateLine(plain.keyedState)).toBe('');
  });

  it('lists each stateful step summed over its slots, then per slot; disk figures for the disk backend only', () => {
    const rows = stateRows([plain, disk, heap]) as string[][];
    expect(rows.every((r) => r.length === STATE_COLUMNS.length)).toBe(true);
    expect(rows).toEqual([
      ['agg', 'all (2)', 'disk', '42.0k', '3.0 MiB', '2.0 KiB', '12.0 MiB', '5.0k'],
      ['', '0', 'disk', '12.0k', '–', '2.0 KiB', '4.0 MiB', '2.0k'],
      ['', '1', 'disk', '30.0k', '3.0 MiB', '–', '8.0 MiB', '3.0k'],
      ['dedupe', '0', 'heap', '7', '512 B', '–', '–', '–'],
    ]);
    expect(stateRows([plain])).toEqual([]);
  });
});
