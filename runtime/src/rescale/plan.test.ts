import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.ts';
import { slotForKeyGroup } from '../state/key-groups.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { planMigration, type MigrationPlan, type PlanInput, type SourcePartition } from './plan.ts';

/** A seeded PRNG (mulberry32): failures name their seed and replay. */
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

function partitionsAt(parallelism: number, topics: [string, number][]): SourcePartition[] {
  const out: SourcePartition[] = [];
  for (const [topic, n] of topics)
    for (let p = 0; p < n; p++)
      out.push({ source: `src-${topic}`, topic, partition: p, owner: partitionOwner(topic, p, parallelism) });
  return out;
}

/**
 * Every invariant of plan.ts, checked by replaying the plan on the assignment at `from`: the
 * result is the runtime's own assignment at `to`, each move starts at the current owner, nothing
 * moves twice, and each step keeps every slot's sent and received bytes within the budget
 * (a key group over the budget alone in its step).
 */
function checkPlan(input: PlanInput, plan: MigrationPlan): void {
  expect(planProblems(input, plan)).toEqual([]);
}

/** What breaks an invariant, as sentences (plain loops: a 32768-key-group plan checks in milliseconds). */
function planProblems(input: PlanInput, plan: MigrationPlan): string[] {
  const bad: string[] = [];
  const { maxParallelism: maxP, from, to } = input;
  const owner = Array.from({ length: maxP }, (_, kg) => slotForKeyGroup(kg, from, maxP));
  const partOwner = new Map(input.partitions.map((p) => [`${p.source}/${p.partition}`, p.owner]));
  const movedKg = new Set<number>();
  const movedPart = new Set<string>();
  let total = 0;
  plan.steps.forEach((step, i) => {
    if (step.keyGroups.length + step.partitions.length === 0) bad.push(`step ${i} is empty`);
    if (i > 0 && step.partitions.length > 0) bad.push(`partition moves in step ${i}`);
    const sent = new Map<number, number>();
    const received = new Map<number, number>();
    let bytes = 0;
    let last = -1;
    for (const m of step.keyGroups) {
      const kg = m.keyGroup;
      if (kg <= last) bad.push(`step ${i}: key groups not ascending at ${kg}`);
      last = kg;
      if (movedKg.has(kg)) bad.push(`key group ${kg} moved twice`);
      movedKg.add(kg);
      if (m.from !== owner[kg]) bad.push(`key group ${kg} moves from ${m.from}, its owner is ${owner[kg]}`);
      if (m.to === m.from || m.to >= Math.max(from, to)) bad.push(`key group ${kg} moves to ${m.to}`);
      if (m.bytes !== input.keyGroupBytes[kg]) bad.push(`key group ${kg}: ${m.bytes} bytes`);
      owner[kg] = m.to;
      sent.set(m.from, (sent.get(m.from) ?? 0) + m.bytes);
      received.set(m.to, (received.get(m.to) ?? 0) + m.bytes);
      bytes += m.bytes;
    }
    if (step.bytes !== bytes) bad.push(`step ${i} says ${step.bytes} bytes, moves ${bytes}`);
    total += bytes;
    if (step.keyGroups.length > 1)
      for (const slot of new Set([...sent.keys(), ...received.keys()])) {
        const n = (sent.get(slot) ?? 0) + (received.get(slot) ?? 0);
        if (n > plan.budgetBytes)
          bad.push(`step ${i}: slot ${slot} sends and receives ${n} > ${plan.budgetBytes} bytes`);
      }
    for (const p of step.partitions) {
      const id = `${p.source}/${p.partition}`;
      if (movedPart.has(id)) bad.push(`partition ${id} moved twice`);
      movedPart.add(id);
      if (p.from !== partOwner.get(id)) bad.push(`partition ${id} moves from ${p.from}, not its owner`);
      partOwner.set(id, p.to);
    }
  });
  let mustMove = 0;
  for (let kg = 0; kg < maxP; kg++) {
    const target = slotForKeyGroup(kg, to, maxP);
    if (owner[kg] !== target) bad.push(`key group ${kg} ends at ${owner[kg]}, the runtime puts it at ${target}`);
    if (slotForKeyGroup(kg, from, maxP) !== target) mustMove++;
  }
  for (const p of input.partitions) {
    const id = `${p.source}/${p.partition}`;
    const target = partitionOwner(p.topic, p.partition, to);
    if (partOwner.get(id) !== target)
      bad.push(`partition ${id} ends at ${partOwner.get(id)}, owner at ${to} is ${target}`);
  }
  if (movedKg.size !== mustMove) bad.push(`${movedKg.size} key groups moved, ${mustMove} must`);
  if (plan.totalBytes !== total) bad.push(`totalBytes ${plan.totalBytes}, steps add up to ${total}`);
  if (plan.movedKeyGroups !== movedKg.size) bad.push(`movedKeyGroups ${plan.movedKeyGroups}`);
  if (plan.movedPartitions !== movedPart.size) bad.push(`movedPartitions ${plan.movedPartitions}`);
  return bad;
}

function randomInput(seed: number, maxP: number, from: number, to: number): PlanInput {
  const r = rng(seed);
  // Skewed sizes: most key groups small, a few far over the budget, some empty.
  const bytes = Array.from({ length: maxP }, () => {
    const x = r();
    return x < 0.1 ? 0 : x < 0.95 ? Math.floor(r() * 200_000) : Math.floor(1_000_000 + r() * 5_000_000);
  });
  return {
    maxParallelism: maxP,
    from,
    to,
    keyGroupBytes: bytes,
    partitions: partitionsAt(from, [
      ['clicks', 1 + Math.floor(r() * 12)],
      ['views', 1 + Math.floor(r() * 5)],
    ]),
    budget: { bytes: 100_000 + Math.floor(r() * 900_000) },
  };
}

describe('planMigration', () => {
  const cases: [number, number, number][] = [
    [128, 1, 2],
    [128, 2, 3],
    [128, 3, 2],
    [128, 4, 1],
    [128, 1, 128],
    [128, 128, 1],
    [128, 5, 7],
    [256, 3, 10],
    [1, 1, 1],
    [7, 3, 7],
    [7, 7, 2],
    [32768, 2, 3],
  ];
  for (const [maxP, from, to] of cases) {
    it(`meets every invariant at maxParallelism ${maxP}, ${from} → ${to} (random sizes, 20 seeds)`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const input = randomInput(seed * 7919 + maxP + from * 31 + to, maxP, from, to);
        checkPlan(input, planMigration(input));
      }
    });
  }

  it('is empty when nothing moves', () => {
    const input: PlanInput = {
      maxParallelism: 128,
      from: 3,
      to: 3,
      keyGroupBytes: new Array<number>(128).fill(1000),
      partitions: partitionsAt(3, [['clicks', 8]]),
      budget: { bytes: 10_000 },
    };
    expect(planMigration(input)).toMatchObject({ steps: [], totalBytes: 0, movedKeyGroups: 0, movedPartitions: 0 });
  });

  it('moves partitions that sit elsewhere even when no key group moves, in one step', () => {
    const parts = partitionsAt(2, [['clicks', 4]]).map((p) => ({ ...p, owner: 1 - p.owner }));
    const plan = planMigration({
      maxParallelism: 128,
      from: 2,
      to: 2,
      keyGroupBytes: new Array<number>(128).fill(0),
      partitions: parts,
      budget: { bytes: 1 },
    });
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]?.partitions).toHaveLength(4);
    expect(plan.steps[0]?.keyGroups).toEqual([]);
  });

  it('gives a key group over the budget a step of its own, and packs the others per slot', () => {
    // 1 → 2 at maxParallelism 8: key groups 4..7 move 0 → 1.
    const plan = planMigration({
      maxParallelism: 8,
      from: 1,
      to: 2,
      keyGroupBytes: [9, 9, 9, 9, 40, 30, 60, 30],
      partitions: [],
      budget: { bytes: 50 },
    });
    expect(plan.steps.map((s) => s.keyGroups.map((m) => m.keyGroup))).toEqual([[4], [5], [6], [7]]);
    const even = planMigration({
      maxParallelism: 8,
      from: 1,
      to: 2,
      keyGroupBytes: [9, 9, 9, 9, 20, 30, 60, 10],
      partitions: [],
      budget: { bytes: 50 },
    });
    expect(even.steps.map((s) => s.keyGroups.map((m) => m.keyGroup))).toEqual([[4, 5], [6], [7]]);
  });

  it('lets moves of different slots share a step, each slot within the budget', () => {
    // 3 → 4 at maxParallelism 12: key group 3 moves 0 → 1, 6 and 7 move 1 → 2, 9 to 11 move 2 → 3.
    const input: PlanInput = {
      maxParallelism: 12,
      from: 3,
      to: 4,
      keyGroupBytes: new Array<number>(12).fill(10),
      partitions: [],
      budget: { bytes: 20 },
    };
    const plan = planMigration(input);
    checkPlan(input, plan);
    expect(plan.steps.map((st) => st.keyGroups.map((m) => `${m.keyGroup}:${m.from}→${m.to}`))).toEqual([
      ['3:0→1', '6:1→2', '9:2→3'],
      ['7:1→2', '10:2→3'],
      ['11:2→3'],
    ]);
  });

  it('sizes steps from a stall target and a transfer rate', () => {
    const input: PlanInput = {
      maxParallelism: 128,
      from: 2,
      to: 3,
      keyGroupBytes: new Array<number>(128).fill(100_000),
      partitions: [],
      budget: { stallMs: 100, bytesPerSecond: 5_000_000 },
    };
    const plan = planMigration(input);
    expect(plan.budgetBytes).toBe(500_000);
    checkPlan(input, plan); // every slot within 500 kB per step: 5 key groups of 100 kB
    // Every move of 2 → 3 involves slot 1 (it receives 43-63 from slot 0, sends 86-127 to slot 2):
    // its stall bounds each step, so the 63 moves take 13 steps of at most 5.
    expect(plan.steps[0]?.keyGroups.map((m) => m.keyGroup)).toEqual([43, 44, 45, 46, 47]);
    expect(plan.steps).toHaveLength(13);
  });

  it('refuses input it cannot plan, with TRIB_RESCALE_PLAN_INVALID naming the field', () => {
    const ok: PlanInput = {
      maxParallelism: 8,
      from: 2,
      to: 3,
      keyGroupBytes: new Array<number>(8).fill(1),
      partitions: [],
      budget: { bytes: 10 },
    };
    const bad: [Partial<PlanInput>, RegExp][] = [
      [{ to: 9 }, /parallelism to .* got 9/],
      [{ from: 0 }, /parallelism from/],
      [{ maxParallelism: 0 }, /maxParallelism/],
      [{ keyGroupBytes: [1, 2] }, /keyGroupBytes has 2 entries/],
      [{ keyGroupBytes: [1, 1, 1, -1, 1, 1, 1, 1] }, /keyGroupBytes\[3\]/],
      [{ budget: { bytes: 0 } }, /budget/],
      [{ budget: { stallMs: 0.1, bytesPerSecond: 5000 } }, /at least 1 byte, got stallMs × bytesPerSecond = 0.5/],
      [{ budget: { stallMs: 100, bytesPerSecond: Number.NaN } }, /budget/],
      [{ partitions: [{ source: 's', topic: 't', partition: 0, owner: 2 }] }, /owner 2 is not a slot/],
      [
        {
          partitions: [
            { source: 's', topic: 't', partition: 0, owner: 0 },
            { source: 's', topic: 't', partition: 0, owner: 1 },
          ],
        },
        /listed twice/,
      ],
    ];
    for (const [patch, message] of bad) {
      let err: unknown;
      try {
        planMigration({ ...ok, ...patch });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(patch)).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).code).toBe('TRIB_RESCALE_PLAN_INVALID');
      expect((err as TributaryError).message).toMatch(message);
    }
  });
});
