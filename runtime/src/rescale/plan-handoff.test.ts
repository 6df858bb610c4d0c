// The planner and the key-group hand-off together: a plan sized from the key-group index of
// real snapshots, carried out step by step over two stateful operators per slot, ends where a
// checkpoint restored at the new parallelism ends, and each step moves the bytes it planned.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot, slotForKeyGroup } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { extractKeyGroups, installKeyGroups } from '../state/key-group-handoff.ts';
import { indexSnapshot } from '../state/snapshot-index.ts';
import { planMigration } from './plan.ts';
import type { StateStore } from '../state/disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

/** The store the running case's backends open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

const OPERATORS = ['per-user', 'per-user-sessions'] as const;
type Slot = Record<(typeof OPERATORS)[number], KeyedStateBackend>;

function slotAt(maxP: number, start: number, end: number): Slot {
  const b = (): KeyedStateBackend => {
    const x = new KeyedStateBackend(maxP, { start, end }, openStore);
    x.state('value');
    return x;
  };
  return { 'per-user': b(), 'per-user-sessions': b() };
}

function contents(s: Slot): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const op of OPERATORS) for (const [kg, key, v] of s[op].state('value').entries()) out[`${op} ${kg} ${key}`] = v;
  return out;
}

describe.each(TEST_BACKENDS)('a plan carried out by key-group hand-offs ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  for (const [from, to] of [
    [2, 3],
    [3, 2],
    [1, 4],
    [4, 1],
  ] as const) {
    it(`${from} → ${to}: ends as a restore at ${to}, each step moving the bytes it planned`, () => {
      const maxP = 128;
      const slots: Slot[] = Array.from({ length: from }, (_, s) => {
        const r = keyGroupRangeForSlot(s, from, maxP);
        return slotAt(maxP, r.start, r.end);
      });
      for (let i = 0; i < 3000; i++) {
        const key = canonicalKey([`user-${i}`]);
        const kg = keyGroupOf(key, maxP);
        const s = slots[slotForKeyGroup(kg, from, maxP)] as Slot;
        s['per-user'].state('value').put(kg, key, { clicks: i, page: `/p/${i % 13}` });
        if (i % 3 === 0) s['per-user-sessions'].state('value').put(kg, key, [i, i + 1000, 'x'.repeat(i % 50)]);
        for (const op of OPERATORS) s[op].maintain(); // a safe point between records
      }

      // Bytes per key group, as the checkpoint's key-group index reports them (framing included).
      const keyGroupBytes = new Array<number>(maxP).fill(0);
      const snapshots = OPERATORS.map((op) => slots.map((s) => s[op].snapshot()));
      for (const perSlot of snapshots)
        for (const bytes of perSlot)
          for (const [kg, , len] of indexSnapshot(bytes).sections)
            keyGroupBytes[kg] = (keyGroupBytes[kg] as number) + len;
      const reference = Array.from({ length: to }, (_, t) => {
        const r = keyGroupRangeForSlot(t, to, maxP);
        const s = slotAt(maxP, r.start, r.end);
        OPERATORS.forEach((op, i) => s[op].restore(snapshots[i] as Uint8Array[]));
        return s;
      });

      const plan = planMigration({
        maxParallelism: maxP,
        from,
        to,
        keyGroupBytes,
        partitions: [],
        budget: { bytes: 8_000 },
      });
      expect(plan.steps.length).toBeGreaterThan(1);
      for (let t = from; t < to; t++) slots.push(slotAt(maxP, 0, -1)); // joining slots own nothing
      for (const step of plan.steps) {
        const pairs = new Map<string, number[]>();
        for (const m of step.keyGroups)
          pairs.set(`${m.from}>${m.to}`, [...(pairs.get(`${m.from}>${m.to}`) ?? []), m.keyGroup]);
        for (const [pair, kgs] of pairs) {
          const [a, b] = pair.split('>').map(Number) as [number, number];
          let moved = 0;
          for (const op of OPERATORS) {
            const h = extractKeyGroups((slots[a] as Slot)[op], kgs, `step "${op}" slot ${a}`);
            const index = indexSnapshot(h.bytes);
            for (const [, , len] of index.sections) moved += len;
            installKeyGroups((slots[b] as Slot)[op], h, `step "${op}" slot ${b}`);
          }
          expect(moved).toBe(kgs.reduce((n, kg) => n + (keyGroupBytes[kg] as number), 0));
        }
        for (const s of slots) for (const op of OPERATORS) s[op].maintain(); // the slots run on between steps
      }
      for (let t = 0; t < Math.max(from, to); t++)
        expect(contents(slots[t] as Slot), `slot ${t}`).toEqual(t < to ? contents(reference[t] as Slot) : {});
    });
  }
});
