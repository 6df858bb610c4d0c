import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot, slotForKeyGroup, type KeyGroupRange } from './key-groups.ts';
import { KeyedStateBackend, type KeyedState } from './keyed-state.ts';
import { extractKeyGroups, installKeyGroups, type KeyGroupHandoff } from './key-group-handoff.ts';
import type { StateStore } from './disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

/** The store the running case's backends open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEN = { toJSON: (s: Set<string>) => [...s].sort(), fromJSON: (j: unknown) => new Set(j as string[]) };

/**
 * One operator's backend as an operator builds it: a plain state, a state with its own serializer,
 * and a derived state folded back on restore (as window timers are), whose hook a hand-off must run.
 */
class Operator {
  readonly backend: KeyedStateBackend;
  readonly count: KeyedState<number>;
  readonly seen: KeyedState<Set<string>>;
  /** Keys per key group, rebuilt by the restore hook from `count` (a derived in-memory structure). */
  index = new Map<number, number>();

  constructor(maxP: number, range: KeyGroupRange) {
    this.backend = new KeyedStateBackend(maxP, range, openStore);
    this.count = this.backend.state<number>('count');
    this.seen = this.backend.state<Set<string>>('seen', SEEN);
    this.backend.onRestore(() => this.rebuild());
  }

  rebuild(): void {
    this.index = new Map();
    for (const [kg] of this.count.entries()) this.index.set(kg, (this.index.get(kg) ?? 0) + 1);
  }

  contents(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [kg, key, v] of this.count.entries()) out[`count ${kg} ${key}`] = v;
    for (const [kg, key, v] of this.seen.entries()) out[`seen ${kg} ${key}`] = [...v].sort();
    return out;
  }

  ownedKeyGroups(): number[] {
    const out: number[] = [];
    for (let kg = 0; kg < this.backend.maxParallelism; kg++) if (this.backend.owns(kg)) out.push(kg);
    return out;
  }
}

const EMPTY: KeyGroupRange = { start: 0, end: -1 };

function filled(maxP: number, p: number, keys: number, seed: number): Operator[] {
  const ops = Array.from({ length: p }, (_, s) => new Operator(maxP, keyGroupRangeForSlot(s, p, maxP)));
  const r = rng(seed);
  for (let i = 0; i < keys; i++) {
    const k = `user-${Math.floor(r() * keys * 4)}`;
    const key = canonicalKey([k]);
    const kg = keyGroupOf(key, maxP);
    const op = ops[slotForKeyGroup(kg, p, maxP)] as Operator;
    op.count.put(kg, key, (op.count.get(kg, key) ?? 0) + 1);
    const s = op.seen.get(kg, key) ?? new Set<string>();
    s.add(`v${i % 7}`);
    op.seen.put(kg, key, s);
    op.backend.maintain(); // a safe point between records
  }
  for (const op of ops) op.rebuild(); // as the running operator keeps it
  return ops;
}

/** What a checkpoint of `ops` restored at parallelism `to` gives each new slot. */
function restoredAt(ops: Operator[], maxP: number, to: number): Operator[] {
  const snaps = ops.map((o) => o.backend.snapshot());
  return Array.from({ length: to }, (_, t) => {
    const o = new Operator(maxP, keyGroupRangeForSlot(t, to, maxP));
    o.backend.restore(snaps);
    return o;
  });
}

/** Moves every key group to its owner at `to` in random batches, slot pair by slot pair, as steps would. */
function migrate(ops: Operator[], maxP: number, from: number, to: number, seed: number): Operator[] {
  const slots = [...ops];
  for (let t = from; t < to; t++) slots.push(new Operator(maxP, EMPTY)); // a joining slot owns nothing
  const moves: [number, number, number][] = [];
  for (let kg = 0; kg < maxP; kg++) {
    const a = slotForKeyGroup(kg, from, maxP);
    const b = slotForKeyGroup(kg, to, maxP);
    if (a !== b) moves.push([kg, a, b]);
  }
  const r = rng(seed);
  while (moves.length > 0) {
    const batch = moves.splice(0, 1 + Math.floor(r() * 5));
    const pairs = new Map<string, number[]>();
    for (const [kg, a, b] of batch) pairs.set(`${a} ${b}`, [...(pairs.get(`${a} ${b}`) ?? []), kg]);
    for (const [pair, kgs] of pairs) {
      const [a, b] = pair.split(' ').map(Number) as [number, number];
      const h = extractKeyGroups((slots[a] as Operator).backend, kgs, `step "agg" slot ${a}`);
      installKeyGroups((slots[b] as Operator).backend, h, `step "agg" slot ${b}`);
    }
    for (const o of slots) o.backend.maintain(); // the slots' loops run on between steps
  }
  return slots;
}

function refusal(fn: () => void): TributaryError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TributaryError);
    return e as TributaryError;
  }
  throw new TributaryError('TRIB_INVARIANT', 'no refusal');
}

describe.each(TEST_BACKENDS)('key-group hand-off ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  const cases: [number, number, number][] = [
    [128, 1, 2],
    [128, 2, 3],
    [128, 3, 2],
    [128, 4, 1],
    [128, 3, 10],
    [7, 2, 7],
    [7, 7, 1],
    [1, 1, 1],
  ];
  for (const [maxP, from, to] of cases) {
    it(`extract → install at ${from} → ${to} (maxParallelism ${maxP}) equals a restore at ${to}`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        const before = filled(maxP, from, 2000, seed * 101 + from);
        const reference = restoredAt(before, maxP, to);
        const slots = migrate(before, maxP, from, to, seed);
        for (let t = 0; t < Math.max(from, to); t++) {
          const s = slots[t] as Operator;
          const want = reference[t];
          if (want) {
            expect(s.contents(), `slot ${t}`).toEqual(want.contents());
            const r = keyGroupRangeForSlot(t, to, maxP);
            expect(s.ownedKeyGroups()).toEqual(Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i));
            // Derived structures are rebuilt as a restore rebuilds them.
            expect(Object.fromEntries(s.index)).toEqual(Object.fromEntries(want.index));
          } else {
            expect(s.contents(), `drained slot ${t}`).toEqual({});
            expect(s.ownedKeyGroups()).toEqual([]);
            expect(s.index.size).toBe(0);
          }
        }
        // A checkpoint after the migration restores at `to` exactly as one before it.
        const again = restoredAt(slots, maxP, to);
        for (let t = 0; t < to; t++)
          expect((again[t] as Operator).contents()).toEqual((reference[t] as Operator).contents());
      }
    });
  }

  it('leaves the old owner without the key groups, in its state and in its snapshots', () => {
    const [a] = filled(16, 1, 500, 7) as [Operator];
    const kgs = [3, 4, 9];
    const h = extractKeyGroups(a.backend, kgs, 'step "agg" slot 0');
    expect(h.keyGroups).toEqual(kgs);
    for (const [kg] of a.count.entries()) expect(kgs).not.toContain(kg);
    expect([...a.index.keys()].filter((kg) => kgs.includes(kg))).toEqual([]);
    const again = new Operator(16, keyGroupRangeForSlot(0, 1, 16));
    again.backend.restore([a.backend.snapshot()]);
    expect(again.ownedKeyGroups().length).toBe(16);
    for (const [kg] of again.count.entries()) expect(kgs).not.toContain(kg);
    expect(a.ownedKeyGroups()).toEqual([0, 1, 2, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]);
  });

  it('makes a restore refuse a key group found in two snapshots (a pre-step file beside a post-step one)', () => {
    const [a, b] = filled(16, 2, 400, 11) as [Operator, Operator];
    const staleA = a.backend.snapshot();
    installKeyGroups(b.backend, extractKeyGroups(a.backend, [5, 6], 'a'), 'b');
    const target = new Operator(16, keyGroupRangeForSlot(0, 1, 16));
    const e = refusal(() => target.backend.restore([staleA, b.backend.snapshot()]));
    expect(e.code).toBe('TRIB_STATE_CORRUPT');
    expect(e.message).toMatch(/key group 5 is in two of the snapshots restored \(#0 and #1\)/);
    // The consistent pair restores.
    const fresh = new Operator(16, keyGroupRangeForSlot(0, 1, 16));
    fresh.backend.restore([a.backend.snapshot(), b.backend.snapshot()]);
    expect(fresh.contents()).toEqual({ ...a.contents(), ...b.contents() });
  });

  it('moves a key group without state: its ownership changes all the same', () => {
    const a = new Operator(16, keyGroupRangeForSlot(0, 2, 16));
    const b = new Operator(16, EMPTY);
    const h = extractKeyGroups(a.backend, [2], 'a');
    installKeyGroups(b.backend, h, 'b');
    expect(b.ownedKeyGroups()).toEqual([2]);
    expect(a.backend.owns(2)).toBe(false);
  });

  it('refuses to extract a key group the slot does not hold, changing nothing', () => {
    const ops = filled(16, 2, 300, 3);
    const a = ops[0] as Operator;
    const before = a.backend.snapshot();
    const e = refusal(() => extractKeyGroups(a.backend, [1, 8, 9, 20], 'step "agg" slot 0'));
    expect(e.code).toBe('TRIB_STATE_KEY_GROUP_NOT_OWNED');
    expect(e.message).toMatch(/step "agg" slot 0: cannot extract key groups 8-9, 20: .* holds 0-7/);
    expect(a.backend.snapshot()).toEqual(before);
    expect(a.ownedKeyGroups()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses an install of a key group the slot holds, or the same hand-off twice, changing nothing', () => {
    const [a, b] = filled(16, 2, 300, 5) as [Operator, Operator];
    const h = extractKeyGroups(a.backend, [6, 7], 'a');
    const clash = extractKeyGroups(b.backend, [8], 'b');
    const before = b.backend.snapshot();
    // Into the slot that holds 8 still? No: b gave 8 away; 9 is b's own.
    const overlapping: KeyGroupHandoff = { keyGroups: [6, 7, 9], bytes: h.bytes };
    const e = refusal(() => installKeyGroups(b.backend, overlapping, 'step "agg" slot 1'));
    expect(e.code).toBe('TRIB_STATE_KEY_GROUP_OWNED');
    expect(e.message).toBe('step "agg" slot 1: cannot install key groups 9: this slot holds them already');
    expect(b.backend.snapshot()).toEqual(before);
    expect(b.backend.owns(6)).toBe(false);
    installKeyGroups(b.backend, h, 'b');
    const twice = refusal(() => installKeyGroups(b.backend, h, 'step "agg" slot 1'));
    expect(twice.code).toBe('TRIB_STATE_KEY_GROUP_OWNED');
    expect(twice.message).toMatch(/key groups 6-7/);
    installKeyGroups(b.backend, clash, 'b'); // back where it was: an aborted step undone
    expect(b.ownedKeyGroups()).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('refuses bytes that do not match the hand-off or the backend, changing nothing', () => {
    const [a, b] = filled(16, 2, 300, 9) as [Operator, Operator];
    const h = extractKeyGroups(a.backend, [0, 1, 2, 3], 'a');
    const target = new Operator(16, EMPTY);
    const unlisted = refusal(() => installKeyGroups(target.backend, { keyGroups: [0, 1], bytes: h.bytes }, 't'));
    expect(unlisted.code).toBe('TRIB_STATE_CORRUPT');
    expect(unlisted.message).toMatch(/holds key group 2, which it does not list/);
    const otherMaxP = new Operator(32, EMPTY);
    expect(refusal(() => installKeyGroups(otherMaxP.backend, h, 't')).code).toBe('TRIB_STATE_INCOMPATIBLE');
    const otherOperator = new KeyedStateBackend(16, EMPTY, openStore);
    otherOperator.state('count');
    const e = refusal(() => installKeyGroups(otherOperator, h, 'step "dedupe" slot 2'));
    expect(e.code).toBe('TRIB_STATE_INCOMPATIBLE');
    expect(e.message).toMatch(/state "seen" that this slot's operator did not register/);
    expect(otherOperator.owns(0)).toBe(false);
    const flipped = new Uint8Array(h.bytes); // a copy (Buffer#slice would share the bytes)
    flipped[flipped.length - 10] = (flipped[flipped.length - 10] as number) ^ 0xff;
    expect(refusal(() => installKeyGroups(target.backend, { ...h, bytes: flipped }, 't')).code).toBe(
      'TRIB_STATE_CORRUPT',
    );
    expect(
      refusal(() => installKeyGroups(target.backend, { keyGroups: [0, 0, 1, 2, 3], bytes: h.bytes }, 't')).code,
    ).toBe('TRIB_STATE_INCOMPATIBLE');
    expect(target.ownedKeyGroups()).toEqual([]);
    expect(target.contents()).toEqual({});
    installKeyGroups(target.backend, h, 't');
    expect(target.ownedKeyGroups()).toEqual([0, 1, 2, 3]);
    expect(b.ownedKeyGroups()).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });
});
