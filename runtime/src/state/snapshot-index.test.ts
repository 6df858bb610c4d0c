import { afterEach, describe, expect, it } from 'vitest';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot } from './key-groups.ts';
import { KeyedStateBackend } from './keyed-state.ts';
import { writeSnapshotV1 } from './snapshot-format-v1.ts';
import { readSnapshotEntries, readSnapshotHeader, snapshotSections } from './snapshot-format.ts';
import { assembleSnapshot, coversAll, indexProblem, indexSnapshot, rangesFor } from './snapshot-index.ts';
import type { StateStore } from './disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

const MAXP = 32;

/** The snapshots of `p` slots holding `n` keys (a count and a string per key). */
function snapshots(p: number, n: number, open: (() => StateStore) | undefined): Uint8Array[] {
  const backends = Array.from(
    { length: p },
    (_, s) => new KeyedStateBackend(MAXP, keyGroupRangeForSlot(s, p, MAXP), open),
  );
  for (let i = 0; i < n; i++) {
    const key = canonicalKey([`k${i}`]);
    const kg = keyGroupOf(key, MAXP);
    const b = backends.find((x) => kg >= x.range.start && kg <= x.range.end) as KeyedStateBackend;
    b.state<number>('n').put(kg, key, i);
    b.state<string>('s').put(kg, key, `v${i}`.repeat(5));
    b.maintain(); // a safe point between records
  }
  const out = backends.map((b) => b.snapshot());
  for (const b of backends) b.close(); // taken while the tests are collected: no afterEach sees these
  return out;
}

/** Key group → entries, from a snapshot's full read (its own CRC verified). */
function byKeyGroup(bytes: Uint8Array): Map<number, unknown> {
  return new Map(readSnapshotEntries(bytes).groups);
}

describe.each(TEST_BACKENDS)('key-group index of a keyed-state snapshot ($name)', (tb) => {
  const stores = trackStores(tb);
  afterEach(() => stores.closeAll());
  const [snap] = snapshots(1, 2000, stores.open) as [Uint8Array];
  const index = indexSnapshot(snap);

  it('lists every section at the offsets the reader finds, and survives a JSON round trip', () => {
    const header = readSnapshotHeader(snap);
    const found = [...snapshotSections(snap, header)].map(([kg, start, end]) => [kg, start - 8, end - start + 8]);
    expect(index.sections.map(([kg, off, len]) => [kg, off, len])).toEqual(found);
    expect(found).toHaveLength(MAXP);
    expect(index.headerLength).toBe(found[0]?.[1]);
    const copy: unknown = JSON.parse(JSON.stringify(index));
    expect(copy).toEqual(index);
    expect(indexProblem(copy, snap.length, { start: 0, end: MAXP - 1 })).toBeUndefined();
  });

  it('indexes a version 1 snapshot the same way (same framing)', () => {
    const v1 = writeSnapshotV1(
      {
        format: 'tributary-keyed-state',
        hash: 'h',
        maxParallelism: MAXP,
        keyGroupRange: { start: 0, end: 31 },
        states: [],
      },
      [
        [3, [{ state: 'n', key: '["a"]', value: 1 }]],
        [9, [{ state: 'n', key: '["b"]', value: 2 }]],
      ],
    );
    const i = indexSnapshot(v1);
    expect(i.sections.map(([kg]) => kg)).toEqual([3, 9]);
    expect(indexProblem(i, v1.length, { start: 0, end: 31 })).toBeUndefined();
  });

  it('is refused when it cannot describe the file (fail closed before any read)', () => {
    const all = { start: 0, end: MAXP - 1 };
    const bad = (f: (x: typeof index) => unknown, size = snap.length, range = all): string | undefined =>
      indexProblem(f(structuredClone(index)), size, range);
    expect(bad((x) => x, snap.length + 1)).toMatch(/ends at byte/);
    expect(bad((x) => x, snap.length, { start: 1, end: MAXP - 1 })).toMatch(/key group 0 is not ascending/);
    expect(
      bad((x) => {
        (x.sections[4] as number[])[0] = 3;
        return x;
      }),
    ).toMatch(/key group 3 is not ascending/);
    expect(
      bad((x) => {
        const s3 = x.sections[3] as [number, number, number, number];
        s3[1] += 1;
        return x;
      }),
    ).toMatch(/not where the previous one ends/);
    expect(bad((x) => ({ ...x, sections: [[1, 2, 3]] }))).toMatch(/not 4 integers/);
    expect(bad((x) => ({ ...x, headerLength: -1 }))).toMatch(/header entry/);
    expect(bad(() => null)).toMatch(/not an object/);
  });

  it('ranges: the header plus the wanted sections, adjacent pieces coalesced, split at the size bound', () => {
    const wanted = [{ start: 8, end: 15 }];
    expect(coversAll(index, wanted)).toBe(false);
    expect(
      coversAll(index, [
        { start: 0, end: 15 },
        { start: 16, end: MAXP - 1 },
      ]),
    ).toBe(true);
    const ranges = rangesFor(index, wanted, 1 << 30);
    // Header [0, headerLength) and key groups 8..15 are not adjacent: two ranges.
    expect(ranges.map((r) => r.pieces.map((p) => p.what))).toEqual([
      ['header'],
      Array.from({ length: 8 }, (_, i) => `key group ${8 + i}`),
    ]);
    const s8 = index.sections[8] as number[];
    const s15 = index.sections[15] as number[];
    expect(ranges[1]).toMatchObject({
      offset: s8[1],
      length: (s15[1] as number) + (s15[2] as number) - (s8[1] as number),
    });
    // From key group 0 on the header is adjacent: one range.
    expect(rangesFor(index, [{ start: 0, end: 3 }], 1 << 30)).toHaveLength(1);
    // A bound below two sections' size: one range per section (plus the header).
    const small = rangesFor(index, wanted, (s8[2] as number) + 1);
    expect(small).toHaveLength(9);
    expect(small.every((r) => r.pieces.length === 1)).toBe(true);
    // Nothing wanted has state: nothing to fetch.
    expect(rangesFor(index, [{ start: MAXP, end: MAXP + 5 }], 1 << 30)).toEqual([]);
  });

  it('the re-assembled snapshot holds exactly the wanted key groups, byte-equal to the original sections', () => {
    const wanted = [{ start: 5, end: 12 }];
    const pieces = rangesFor(index, wanted, 4096).flatMap((r) =>
      r.pieces.map((p) => snap.subarray(p.offset, p.offset + p.length)),
    );
    const part = assembleSnapshot(pieces[0] as Uint8Array, pieces.slice(1));
    expect(part.length).toBeLessThan(snap.length);
    const full = byKeyGroup(snap);
    const got = byKeyGroup(part); // verifies the re-assembled CRC-32
    expect([...got.keys()]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    for (const [kg, entries] of got) expect(entries).toEqual(full.get(kg));
    // And a backend of that range restores from it what it restores from the whole file.
    const fromPart = new KeyedStateBackend(MAXP, { start: 5, end: 12 }, stores.open);
    const fromWhole = new KeyedStateBackend(MAXP, { start: 5, end: 12 }, stores.open);
    for (const b of [fromPart, fromWhole]) {
      b.state('n');
      b.state('s');
    }
    fromPart.restore([part]);
    fromWhole.restore([snap]);
    expect([...fromPart.state('s').entries()]).toEqual([...fromWhole.state('s').entries()]);
    expect([...fromPart.state('n').entries()].length).toBeGreaterThan(0);
  });
});
