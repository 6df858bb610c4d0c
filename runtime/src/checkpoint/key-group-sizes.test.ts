import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot, slotForKeyGroup } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { indexSnapshot } from '../state/snapshot-index.ts';
import { keyGroupSizes } from './key-group-sizes.ts';
import type { KeyedStateDelta, KeyedStateFile } from './metadata.ts';

const MAXP = 32;

/** Section lengths by walking the framing (u32 key group, u32 length) directly: independent of indexSnapshot. */
function framedLengths(bytes: Uint8Array, into: number[]): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 10 + dv.getUint32(6);
  for (let kg = dv.getUint32(off); kg !== 0xffffffff; kg = dv.getUint32(off)) {
    const len = dv.getUint32(off + 4);
    into[kg] = (into[kg] as number) + 8 + len;
    off += 8 + len;
  }
}

function job(p: number): { operators: Record<string, { keyed: KeyedStateFile[] }>; expected: number[] } {
  const expected = new Array<number>(MAXP).fill(0);
  const operators: Record<string, { keyed: KeyedStateFile[] }> = {};
  for (const [step, keys] of [
    ['counts', 400],
    ['sessions', 90],
  ] as const) {
    const backends = Array.from({ length: p }, (_, s) => new KeyedStateBackend(MAXP, keyGroupRangeForSlot(s, p, MAXP)));
    for (let i = 0; i < keys; i++) {
      const key = canonicalKey([`${step}-${i}`]);
      const kg = keyGroupOf(key, MAXP);
      (backends[slotForKeyGroup(kg, p, MAXP)] as KeyedStateBackend).state('v').put(kg, key, 'x'.repeat(i % 40));
    }
    operators[step] = {
      keyed: backends.map((b, slot) => {
        const bytes = b.snapshot();
        framedLengths(bytes, expected);
        return {
          slot,
          file: `${step}.slot-${slot}.kstate`,
          keyGroupRange: b.range,
          size: bytes.length,
          sha256: '-',
          index: indexSnapshot(bytes),
        };
      }),
    };
  }
  return { operators, expected };
}

function refusal(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TributaryError);
    return e as TributaryError;
  }
  throw new TributaryError('TRIB_INVARIANT', 'no refusal');
}

describe('keyGroupSizes', () => {
  it('sums each key group over the stateful steps from the files’ key-group indexes', () => {
    for (const p of [1, 2, 3]) {
      const { operators, expected } = job(p);
      const sizes = keyGroupSizes({ maxParallelism: MAXP, operators });
      expect(sizes).toEqual({ bytes: expected, estimated: false });
      expect(expected.filter((n) => n > 0).length).toBeGreaterThan(MAXP / 2);
    }
  });

  it('counts every file of an incremental chain: at least the live state, however little the base holds', () => {
    const b = new KeyedStateBackend(MAXP, keyGroupRangeForSlot(0, 1, MAXP));
    b.trackChanges();
    const counts = b.state<string>('v');
    const files: Uint8Array[] = [b.snapshotFor(1, undefined).bytes]; // an empty base, as right after a start
    for (const [id, from, to] of [
      [2, 0, 300],
      [3, 200, 500],
    ] as const) {
      for (let i = from; i < to; i++) {
        const key = canonicalKey([`k-${i}`]);
        counts.put(keyGroupOf(key, MAXP), key, `value-${id}-${i}`);
      }
      const snap = b.snapshotFor(id, id - 1);
      expect(snap.delta).toBe(true);
      files.push(snap.bytes);
    }
    const [base, ...deltas] = files.map((bytes, i) => ({
      file: `counts.slot-0.${i}`,
      keyGroupRange: b.range,
      size: bytes.length,
      sha256: '-',
      index: indexSnapshot(bytes),
    }));
    const sizes = keyGroupSizes({
      maxParallelism: MAXP,
      operators: { counts: { keyed: [{ ...(base as KeyedStateDelta), slot: 0, deltas }] } },
    });
    const sum = new Array<number>(MAXP).fill(0);
    for (const bytes of files) framedLengths(bytes, sum);
    expect(sizes).toEqual({ bytes: sum, estimated: false });
    const live = new Array<number>(MAXP).fill(0);
    framedLengths(b.snapshot(), live);
    for (let kg = 0; kg < MAXP; kg++) expect(sizes.bytes[kg]).toBeGreaterThanOrEqual(live[kg] as number);
    // The base alone would size (almost) nothing: what the plan saw before chains were counted.
    const baseBytes = indexSnapshot(files[0] as Uint8Array).sections.reduce((n, [, , len]) => n + len, 0);
    expect(baseBytes * 100).toBeLessThan(live.reduce((n, x) => n + x, 0));
  });

  it('spreads a file without an index over its range, rounded up, and says so', () => {
    const { operators } = job(2);
    const sessions = operators['sessions'] as { keyed: KeyedStateFile[] };
    const old = sessions.keyed[1] as KeyedStateFile; // key groups 16..31
    const others = keyGroupSizes({
      maxParallelism: MAXP,
      operators: {
        counts: operators['counts'] as { keyed: KeyedStateFile[] },
        sessions: { keyed: [sessions.keyed[0] as KeyedStateFile] },
      },
    });
    delete old.index;
    old.size = 1601;
    const sizes = keyGroupSizes({ maxParallelism: MAXP, operators });
    expect(sizes.estimated).toBe(true);
    expect(sizes.bytes).toEqual(others.bytes.map((n, kg) => n + (kg >= 16 ? 101 : 0))); // ceil(1601 / 16)
  });

  it('refuses an index that cannot describe its file, naming the file and step', () => {
    const { operators } = job(2);
    const f = operators['counts']?.keyed[0] as KeyedStateFile;
    f.size += 1;
    const e = refusal(() => keyGroupSizes({ maxParallelism: MAXP, operators }));
    expect(e.code).toBe('TRIB_RESTORE_METADATA_CORRUPT');
    expect(e.message).toMatch(/state file counts\.slot-0\.kstate of step "counts": index ends at byte/);
    f.size -= 1;
    f.keyGroupRange = { start: 0, end: MAXP };
    expect(refusal(() => keyGroupSizes({ maxParallelism: MAXP, operators })).message).toMatch(/not inside 0\.\.31/);
  });
});
