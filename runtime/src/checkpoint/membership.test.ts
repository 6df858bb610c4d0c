// The coordinator's membership (membership.ts) on a real CheckpointCoordinator with fake slot
// ports: a checkpoint keeps the slots it was triggered at — one pending while a slot joins
// completes on the old set's acknowledgements, records their number as its parallelism and
// tells only them; the next one waits for the new member too — and `exclusive` runs only while
// no checkpoint is pending and holds every trigger behind it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { CheckpointCoordinator, type CompletedCheckpoint } from './coordinator.ts';
import type { SlotCheckpointPort, TriggerCheckpoint } from './messages.ts';
import { readMetadata } from './metadata.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A slot that records what it is told; each trigger resolves `triggered` (the test acknowledges). */
class FakeSlot implements SlotCheckpointPort {
  readonly triggers: TriggerCheckpoint[] = [];
  readonly completed: number[] = [];
  readonly aborted: number[] = [];
  private waiters: ((t: TriggerCheckpoint) => void)[] = [];
  trigger(m: TriggerCheckpoint): void {
    this.triggers.push(m);
    for (const w of this.waiters.splice(0)) w(m);
  }
  notifyComplete(id: number): void {
    this.completed.push(id);
  }
  notifyAborted(id: number): void {
    this.aborted.push(id);
  }
  /** The next trigger (or the one already received beyond `seen`). */
  next(seen: number): Promise<TriggerCheckpoint> {
    const t = this.triggers[seen];
    return t ? Promise.resolve(t) : new Promise((r) => this.waiters.push(r));
  }
}

async function setup() {
  const stateDir = await mkdtemp(join(tmpdir(), 'trib-members-'));
  dirs.push(stateDir);
  const slots = [new FakeSlot(), new FakeSlot()];
  const c = new CheckpointCoordinator({ stateDir, slots, maxParallelism: 128, graphHash: 'g', timeoutMs: 30_000 });
  await c.start();
  const ack = async (slot: number, t: TriggerCheckpoint): Promise<void> => {
    const f = await CheckpointStorage.writeStateFile(t.dir, `w.slot-${slot}.kstate`, new Uint8Array([slot]));
    c.acknowledge({
      slot,
      checkpointId: t.checkpointId,
      operators: { w: { ...f, keyGroupRange: { start: slot, end: slot } } },
      sources: {},
      sinks: {},
      stateSize: 1,
      alignmentMs: 0,
    });
  };
  return { c, slots, ack };
}

describe('CheckpointMembership', () => {
  it('a checkpoint pending while a slot joins keeps the set it was triggered at; the next one waits for the new slot', async () => {
    const { c, slots, ack } = await setup();
    const [s0, s1] = slots as [FakeSlot, FakeSlot];
    const first = c.trigger('checkpoint', false);
    const t1 = await s0.next(0);
    await s1.next(0);
    const s2 = new FakeSlot();
    c.membership.add(2, s2); // while checkpoint 1 is pending
    expect(c.parallelism).toBe(3);
    await ack(0, t1);
    await ack(1, t1);
    const done: CompletedCheckpoint = await first;
    expect((await readMetadata(done.path)).parallelism).toBe(2);
    expect(s2.triggers).toEqual([]);
    expect(s2.completed).toEqual([]);
    expect([s0.completed, s1.completed]).toEqual([[t1.checkpointId], [t1.checkpointId]]);

    const second = c.trigger('checkpoint', false);
    let completed = false;
    void second.then(() => (completed = true));
    const t2 = await s0.next(1);
    expect((await s2.next(0)).checkpointId).toBe(t2.checkpointId);
    await ack(0, t2);
    await ack(1, t2);
    await c.settled();
    await new Promise((r) => setImmediate(r));
    expect(completed, 'waits for the slot that joined').toBe(false);
    await ack(2, t2);
    expect((await readMetadata((await second).path)).parallelism).toBe(3);
    expect(s2.completed).toEqual([t2.checkpointId]);
    c.stop('test', 'info');
  });

  it('a slot leaves from the top only; an acknowledgement from a slot not triggered is ignored', async () => {
    const { c, slots, ack } = await setup();
    const s2 = new FakeSlot();
    c.membership.add(2, s2);
    expect(() => c.membership.remove(1)).toThrow(/only the highest slot/);
    expect(() => c.membership.add(4, s2)).toThrow(/next slot to join is 3/);
    c.membership.remove(2);
    const done = c.trigger('checkpoint', false);
    const t = await (slots[0] as FakeSlot).next(0);
    await ack(2, t); // not a member of this checkpoint
    await ack(0, t);
    await ack(1, t);
    expect((await readMetadata((await done).path)).parallelism).toBe(2);
    expect(s2.triggers).toEqual([]);
    c.stop('test', 'info');
  });

  it('exclusive runs once no checkpoint is pending and holds triggers until it is done', async () => {
    const { c, slots, ack } = await setup();
    const [s0, s1] = slots as [FakeSlot, FakeSlot];
    const first = c.trigger('checkpoint', false);
    const t1 = await s0.next(0);
    const log: string[] = [];
    let release = (): void => undefined;
    const held = new Promise<void>((r) => (release = r));
    const ex = c.exclusive(async () => {
      log.push(`exclusive (triggers so far ${s0.triggers.length}, first done ${String(firstDone)})`);
      await held;
      log.push('exclusive done');
    });
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(log, 'waits for the pending checkpoint').toEqual([]);
    await ack(0, t1);
    await ack(1, t1);
    await first;
    const second = c.trigger('checkpoint', false);
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual(['exclusive (triggers so far 1, first done true)']);
    expect(s0.triggers.length, 'no trigger while exclusive').toBe(1);
    release();
    await ex;
    const t2 = await s0.next(1);
    await ack(0, t2);
    await ack(1, await s1.next(1));
    await second;
    expect(log).toEqual(['exclusive (triggers so far 1, first done true)', 'exclusive done']);
    c.stop('test', 'info');
  });
});
