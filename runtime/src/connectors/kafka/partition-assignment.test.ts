import { describe, expect, it } from 'vitest';
import { partitionOwner } from './client.ts';
import { PartitionAssignment } from './partition-assignment.ts';

const TOPIC = 'orders';
const PARTS = [...Array(12).keys()];
const ownedAt = (slot: number, p: number): number[] => PARTS.filter((q) => partitionOwner(TOPIC, q, p) === slot);

describe('which found partitions a Kafka source slot takes', () => {
  it('by the owner rule at the parallelism it started with: every partition by exactly one slot', () => {
    const slots = [0, 1, 2].map((s) => new PartitionAssignment(TOPIC, s, 3, false));
    for (const p of PARTS) expect(slots.filter((a) => a.takes(p)).length, `partition ${p}`).toBe(1);
    expect(PARTS.filter((p) => slots[1]?.takes(p))).toEqual(ownedAt(1, 3));
    expect(slots[0]?.keepsRunning).toBe(false);
  });

  it('a joining slot takes none by itself until the rescale places partitions, and keeps running', () => {
    const a = new PartitionAssignment(TOPIC, 3, 4, true);
    expect(PARTS.filter((p) => a.takes(p))).toEqual([]);
    expect(a.keepsRunning).toBe(true);
    a.place(4);
    expect(PARTS.filter((p) => a.takes(p))).toEqual(ownedAt(3, 4));
  });

  it('held during a rescale, then by the rule at the new parallelism (a scale in leaves no partition to a drained slot)', () => {
    const slots = [0, 1, 2].map((s) => new PartitionAssignment(TOPIC, s, 3, false));
    for (const a of slots) a.hold();
    for (const p of PARTS)
      expect(
        slots.some((a) => a.takes(p)),
        `partition ${p} while held`,
      ).toBe(false);
    for (const a of slots.slice(0, 1)) a.place(1);
    expect(PARTS.filter((p) => slots[0]?.takes(p))).toEqual(PARTS);
    expect(slots[0]?.keepsRunning).toBe(true);
  });

  it('never takes back by itself a partition it handed over; a step giving it back clears that', () => {
    const a = new PartitionAssignment(TOPIC, 0, 1, false);
    a.handedOver([4, 5]);
    expect(a.takes(4)).toBe(false);
    expect(a.takes(6)).toBe(true);
    expect(a.keepsRunning).toBe(true);
    a.takenOver([4]);
    expect(a.takes(4)).toBe(true);
    expect(a.takes(5)).toBe(false);
  });
});
