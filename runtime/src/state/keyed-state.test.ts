import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot } from './key-groups.ts';
import { KeyedStateBackend } from './keyed-state.ts';
import { writeSnapshotV1 } from './snapshot-format-v1.ts';
import { readSnapshotEntries, readSnapshotHeader } from './snapshot-format.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

const MAXP = 16;

function fill(backends: KeyedStateBackend[], keys: string[]): void {
  for (const k of keys) {
    const key = canonicalKey([k]);
    const kg = keyGroupOf(key, MAXP);
    const b = backends.find((x) => kg >= x.range.start && kg <= x.range.end) as KeyedStateBackend;
    b.state<number>('count').put(kg, key, k.length);
    b.state<Set<string>>('seen', { toJSON: (s) => [...s], fromJSON: (j) => new Set(j as string[]) }).put(
      kg,
      key,
      new Set([k, `${k}!`]),
    );
    b.maintain(); // a safe point between records: the disk store evicts here
  }
}

function contents(backends: KeyedStateBackend[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const b of backends) {
    for (const [, key, v] of b.state<number>('count').entries()) out[`count ${key}`] = v;
    for (const [, key, v] of b
      .state<Set<string>>('seen', { toJSON: (s) => [...s], fromJSON: (j) => new Set(j as string[]) })
      .entries())
      out[`seen ${key}`] = [...v].sort();
  }
  return out;
}

describe.each(TEST_BACKENDS)('keyed state snapshots ($name)', (tb) => {
  const stores = trackStores(tb);
  afterEach(() => stores.closeAll());
  const backendsFor = (p: number): KeyedStateBackend[] =>
    Array.from({ length: p }, (_, s) => new KeyedStateBackend(MAXP, keyGroupRangeForSlot(s, p, MAXP), stores.open));
  const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);

  it('restores 2 slots into 3 slots (and 3 into 1) with the same contents', () => {
    const two = backendsFor(2);
    fill(two, keys);
    const before = contents(two);
    expect(Object.keys(before)).toHaveLength(400);
    const snaps = two.map((b) => b.snapshot());

    const three = backendsFor(3);
    for (const b of three) {
      b.state('count');
      b.state('seen', { toJSON: (s: Set<string>) => [...s], fromJSON: (j) => new Set(j as string[]) });
      b.restore(snaps);
    }
    expect(contents(three)).toEqual(before);
    for (const b of three)
      for (const [kg] of b.state('count').entries()) expect(kg >= b.range.start && kg <= b.range.end).toBe(true);

    const one = backendsFor(1);
    one[0]?.state('count');
    one[0]?.state('seen', { toJSON: (s: Set<string>) => [...s], fromJSON: (j) => new Set(j as string[]) });
    one[0]?.restore(three.map((b) => b.snapshot()));
    expect(contents(one)).toEqual(before);
  });

  it('writes a versioned header', () => {
    const [b] = backendsFor(1) as [KeyedStateBackend];
    fill([b], ['a']);
    const h = readSnapshotHeader(b.snapshot());
    expect(h).toMatchObject({
      format: 'tributary-keyed-state',
      version: 2,
      maxParallelism: MAXP,
      keyGroupRange: { start: 0, end: 15 },
      hash: 'murmur3_32/seed0/utf8-json-key',
    });
  });

  it('rejects a corrupted snapshot (checksum)', () => {
    const [b] = backendsFor(1) as [KeyedStateBackend];
    fill([b], keys);
    const bytes = b.snapshot();
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    const r = backendsFor(1)[0] as KeyedStateBackend;
    r.state('count');
    r.state('seen');
    expect(() => r.restore([bytes])).toThrow(/checksum mismatch/);
    try {
      r.restore([bytes]);
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_STATE_CORRUPT')).toBe(true);
    }
  });

  it('refuses a snapshot of another maxParallelism', () => {
    const b = new KeyedStateBackend(32, { start: 0, end: 31 }, stores.open);
    b.state<number>('count').put(1, '["x"]', 1);
    const r = new KeyedStateBackend(MAXP, { start: 0, end: 15 }, stores.open);
    r.state('count');
    expect(() => r.restore([b.snapshot()])).toThrow(/maxParallelism cannot change/);
  });

  const seenSer = { toJSON: (s: Set<string>) => [...s], fromJSON: (j: unknown) => new Set(j as string[]) };
  const restoreInto = (p: number, snaps: Uint8Array[]): KeyedStateBackend[] =>
    backendsFor(p).map((b) => {
      b.state('count');
      b.state('seen', seenSer);
      b.restore(snaps);
      return b;
    });

  it('restores version 1 (JSON lines) snapshots, also at another parallelism', () => {
    const two = backendsFor(2);
    fill(two, keys);
    const before = contents(two);
    // The version 1 encoder writes the same entries as the old runtime did.
    const v1 = two.map((b) => {
      const { header, groups } = readSnapshotEntries(b.snapshot());
      const { version: _v, ...rest } = header;
      return writeSnapshotV1(rest, groups);
    });
    expect(readSnapshotHeader(v1[0] as Uint8Array).version).toBe(1);
    expect(contents(restoreInto(3, v1))).toEqual(before);
    // Mixed versions (e.g. a v1 savepoint restored, then one slot re-snapshotted) also load.
    expect(contents(restoreInto(1, [v1[0] as Uint8Array, (two[1] as KeyedStateBackend).snapshot()]))).toEqual(before);
  });

  it('refuses an unknown version with TRIB_STATE_INCOMPATIBLE', () => {
    const [b] = backendsFor(1) as [KeyedStateBackend];
    fill([b], keys);
    const bytes = b.snapshot();
    new DataView(bytes.buffer, bytes.byteOffset).setUint16(4, 99);
    expect(() => restoreInto(1, [bytes])).toThrow(expect.objectContaining({ code: 'TRIB_STATE_INCOMPATIBLE' }));
  });

  it('refuses a truncated snapshot and a section that lies about its length', () => {
    const [b] = backendsFor(1) as [KeyedStateBackend];
    fill([b], keys);
    const bytes = b.snapshot();
    expect(() => restoreInto(1, [bytes.subarray(0, bytes.length - 7)])).toThrow(
      expect.objectContaining({ code: 'TRIB_STATE_CORRUPT' }),
    );
    // Corrupt a section length, then fix the CRC so only the structural checks can catch it.
    const h = readSnapshotHeader(bytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const first = 10 + dv.getUint32(6);
    expect(h.version).toBe(2);
    dv.setUint32(first + 4, dv.getUint32(first + 4) - 1);
    dv.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)));
    expect(() => restoreInto(1, [bytes])).toThrow(expect.objectContaining({ code: 'TRIB_STATE_CORRUPT' }));
  });
});
