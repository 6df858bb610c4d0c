// Where slots place Kafka partitions found while slot 0 rescales the job across threads, processes or pods
// (placement.ts): three slots' SlotPlacement over an in-memory control link, each slot's source the
// real PartitionAssignment (kafka-source.ts's rule) with the partitions it owns. At every step of a scale
// in 3 → 2 and a scale out 2 → 3 — before the plan, between its steps, after it — a found partition has at
// most one reader, a leaving slot takes none, and once done every partition of the topic has exactly one
// reader, the owner the rule at the new parallelism names (what a restart there would do).
import { describe, expect, it } from 'vitest';
import { PartitionAssignment } from '../connectors/kafka/partition-assignment.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import type { SlotParts } from '../exec/slot-builder.ts';
import { planMigration } from './plan.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { placedAcross, SlotPlacement } from './placement.ts';

const TOPIC = 'orders';
const MAX_P = 8;

/** One slot: its placement, its source's assignment, and what it reads. */
class Slot {
  readonly owned = new Set<number>();
  assignment: PartitionAssignment;
  readonly placement: SlotPlacement;
  /** A slot that left, or whose link is down, gets nothing. */
  reachable = true;

  readonly index: number;

  constructor(index: number, parallelism: number, joining: boolean, all: Map<number, Slot>) {
    this.index = index;
    this.assignment = new PartitionAssignment(TOPIC, index, parallelism, joining);
    const reader = {
      holdNewPartitions: () => {
        this.assignment.hold();
        return Promise.resolve();
      },
      placeNewPartitions: (n: number) => this.assignment.place(n),
    };
    const parts = { slot: { post: (cb: () => void) => queueMicrotask(cb) }, sources: [{ reader }] };
    this.placement = new SlotPlacement({
      slot: index,
      sendControl: (to, msg) => {
        const peer = all.get(to);
        if (!peer?.reachable || !this.reachable) return false;
        queueMicrotask(() => peer.placement.receive(index, msg));
        return true;
      },
      localSlots: () => (this.reachable ? [parts as unknown as SlotParts] : []),
      timeoutMs: 200,
      logger: silentLogger(),
    });
  }

  /** A discovery pass of the slot's source over the topic's `count` partitions (kafka-source.ts assignNew). */
  discover(count: number): void {
    for (let p = 0; p < count; p++) if (!this.owned.has(p) && this.assignment.takes(p)) this.owned.add(p);
  }
}

class Job {
  readonly slots = new Map<number, Slot>();
  parallelism: number;

  constructor(parallelism: number, partitions: number) {
    this.parallelism = parallelism;
    for (let s = 0; s < parallelism; s++) this.slots.set(s, new Slot(s, parallelism, false, this.slots));
    this.discover(partitions);
  }

  discover(count: number): void {
    for (const s of this.slots.values()) if (s.reachable) s.discover(count);
  }

  /** Readers of each partition. */
  readers(count: number): number[][] {
    return Array.from({ length: count }, (_, p) =>
      [...this.slots.values()].filter((s) => s.owned.has(p)).map((s) => s.index),
    );
  }

  /** Never two readers of one partition (at any step). */
  expectNoneTwice(count: number): void {
    for (const [p, r] of this.readers(count).entries())
      expect(r.length, `partition ${p}: readers ${r.join(',')}`).toBeLessThan(2);
  }

  /** Once done: each partition read once, by its owner at the job's parallelism. */
  expectPlacedAt(n: number, count: number): void {
    const want = Array.from({ length: count }, (_, p) => [partitionOwner(TOPIC, p, n)]);
    expect(this.readers(count)).toEqual(want);
  }

  /** The plan's steps as the migration carries them out (hand over, take over). */
  migrate(to: number): void {
    const partitions = [...this.slots.values()].flatMap((s) =>
      [...s.owned].map((partition) => ({ source: 'in', topic: TOPIC, partition, owner: s.index })),
    );
    const plan = planMigration({
      maxParallelism: MAX_P,
      from: this.parallelism,
      to,
      keyGroupBytes: new Array<number>(MAX_P).fill(1),
      partitions,
      budget: { bytes: 2 },
    });
    for (const step of plan.steps)
      for (const m of step.partitions) {
        const [from, dest] = [this.slots.get(m.from) as Slot, this.slots.get(m.to) as Slot];
        from.owned.delete(m.partition);
        from.assignment.handedOver([m.partition]);
        dest.owned.add(m.partition);
        dest.assignment.takenOver([m.partition]);
      }
  }
}

/** Lets the control messages in flight arrive. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('partitions found during a live rescale across processes (placement.ts)', () => {
  it('scale in 3 → 2: a leaving slot takes none, and after it every partition has its owner at 2', async () => {
    const job = new Job(3, 4);
    const leaving = job.slots.get(2) as Slot;
    await placedAcross(
      job.slots.get(0)!.placement,
      () => job.parallelism,
      2,
      async () => {
        // Partitions found between the hold and the plan, between the steps and while slot 2 drains.
        job.discover(8);
        job.expectNoneTwice(8);
        job.migrate(2);
        job.discover(10);
        job.expectNoneTwice(10);
        expect([...leaving.owned]).toEqual([]);
        leaving.reachable = false; // drained and left
        job.slots.delete(2);
        job.parallelism = 2;
        return Promise.resolve();
      },
    );
    await settle();
    job.discover(12);
    job.expectPlacedAt(2, 12);
  });

  it('scale out 2 → 3: the joiner and the running slots place by the rule at 3 only once the steps are done', async () => {
    const job = new Job(2, 4);
    await placedAcross(
      job.slots.get(0)!.placement,
      () => job.parallelism,
      3,
      async () => {
        job.slots.set(2, new Slot(2, 3, true, job.slots));
        job.discover(8);
        job.expectNoneTwice(8);
        job.migrate(3);
        job.discover(9);
        job.expectNoneTwice(9);
        job.parallelism = 3;
        return Promise.resolve();
      },
    );
    await settle();
    job.discover(12);
    job.expectPlacedAt(3, 12);
  });

  it('the README path 2 → 3 → 1: each part places at its parallelism', async () => {
    const job = new Job(2, 4);
    const leader = job.slots.get(0)!.placement;
    await placedAcross(
      leader,
      () => job.parallelism,
      3,
      () => {
        job.slots.set(2, new Slot(2, 3, true, job.slots));
        job.discover(5);
        job.migrate(3);
        job.expectNoneTwice(5);
        job.parallelism = 3;
        return Promise.resolve();
      },
    );
    await settle();
    job.discover(6);
    job.expectPlacedAt(3, 6);
    await placedAcross(
      leader,
      () => job.parallelism,
      1,
      () => {
        job.discover(9);
        job.expectNoneTwice(9);
        job.migrate(1);
        for (const s of [1, 2]) {
          expect([...(job.slots.get(s) as Slot).owned]).toEqual([]);
          (job.slots.get(s) as Slot).reachable = false;
          job.slots.delete(s);
        }
        job.parallelism = 1;
        return Promise.resolve();
      },
    );
    await settle();
    job.discover(12);
    job.expectPlacedAt(1, 12);
  });

  it('a slot that does not hold refuses the rescale, naming it; the others place by the rule they had', async () => {
    const job = new Job(3, 4);
    (job.slots.get(1) as Slot).reachable = false;
    let ran = false;
    const rescaled = placedAcross(
      job.slots.get(0)!.placement,
      () => job.parallelism,
      2,
      () => {
        ran = true;
        return Promise.resolve();
      },
    );
    await expect(rescaled).rejects.toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED', message: /slot 1 did not hold/ });
    expect(ran).toBe(false);
    (job.slots.get(1) as Slot).reachable = true;
    await settle();
    job.discover(12);
    job.expectPlacedAt(3, 12);
  });
});
