// When a slot joins (join-local.ts joinSlot), against a real CheckpointCoordinator with fake slot
// ports and real running tasks (hash exchanges, channels, gates, slot mailboxes): with a
// checkpoint pending, nothing of the running slots changes and the joining slot is not a member
// (a barrier may be in flight on the channels it would add: BarrierAligner.addInput's
// precondition); once it completed, the running producers gain their channels to the joining
// slot in their loops, then the slot's loop starts and it becomes a member, and the next
// checkpoint is triggered at it too.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import type { SlotCheckpointPort, TriggerCheckpoint } from '../checkpoint/messages.ts';
import { fieldsKeySelector } from '../operators/key-selector.ts';
import { LocalChannel } from '../exec/channel.ts';
import { HashExchange } from '../exec/exchange.ts';
import { GateTask } from '../exec/gate-task.ts';
import type { SlotParts } from '../exec/slot-builder.ts';
import { emptySlotParts, joinSlot } from './join-local.ts';
import { TaskLinks } from '../exec/task-links.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

class FakeSlot implements SlotCheckpointPort {
  readonly triggers: TriggerCheckpoint[] = [];
  trigger(m: TriggerCheckpoint): void {
    this.triggers.push(m);
  }
  notifyComplete(): void {}
  notifyAborted(): void {}
}

const fail = (e: unknown): never => {
  throw e;
};
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('joinSlot', () => {
  it('waits for the pending checkpoint, wires the running slots in their loops, then admits the slot', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-join-'));
    dirs.push(stateDir);
    const ports = [new FakeSlot(), new FakeSlot()];
    const coordinator = new CheckpointCoordinator({ stateDir, slots: ports, maxParallelism: 8, graphHash: 'g' });
    await coordinator.start();
    const ack = async (slot: number, t: TriggerCheckpoint): Promise<void> => {
      const f = await CheckpointStorage.writeStateFile(t.dir, `w.slot-${slot}.kstate`, new Uint8Array([slot]));
      coordinator.acknowledge({
        slot,
        checkpointId: t.checkpointId,
        operators: { w: { ...f, keyGroupRange: { start: slot, end: slot } } },
        sources: {},
        sinks: {},
        stateSize: 1,
        alignmentMs: 0,
      });
    };
    // Slots 0 and 1 run a producer whose hash exchange leads to slots 0 and 1.
    const list = [0, 1].map((s) => emptySlotParts(s, false));
    const byIndex = new Map(list.map((p) => [p.slot.index, p]));
    const links = new TaskLinks();
    const exchanges = list.map((p) => {
      const targets = [new LocalChannel(4), new LocalChannel(4)];
      const ex = new HashExchange(fieldsKeySelector(['k']), targets, 8, fail);
      const task = new GateTask(`p${p.slot.index}`, [], ex, [...targets]);
      links.producers.push({ slot: p.slot.index, consumer: 'c', input: 0, exchange: ex, chain: undefined, task });
      return ex;
    });
    const log: string[] = [];
    const gained = [0, 1].map((from) => ({ from, to: 2, consumer: 'c', input: 0, channel: new LocalChannel(4) }));
    const joining = joinSlot({
      builder: { links, join: () => gained },
      byIndex,
      list,
      checkpoints: {
        coordinator,
        addSlot: (p: SlotParts) => log.push(`checkpointer ${p.slot.index}`),
        admit: (p: SlotParts) => {
          log.push(`admitted ${p.slot.index}`);
          coordinator.membership.add(p.slot.index, new FakeSlot());
        },
      },
      sinkOpening: { addSlot: (s) => log.push(`writers ${s}`), openSlot: () => Promise.resolve() },
      loops: { start: (p) => log.push(`loop ${p.slot.index}`) },
      nodeTiming: false,
      declareAlignment: (s) => log.push(`alignment ${s}`),
      owners: () => new Int32Array(8),
    });
    // A checkpoint is pending (triggered before the join reached its exclusive section).
    const first = coordinator.trigger('checkpoint', false);
    while (ports[0]?.triggers.length === 0) await turn();
    for (let i = 0; i < 5; i++) {
      for (const p of list) p.slot.drainMailbox();
      await turn();
    }
    const joinedEx = (ex: HashExchange): boolean => {
      try {
        ex.reassign([], 2);
        return true;
      } catch {
        return false;
      }
    };
    expect(exchanges.map(joinedEx), 'no running slot changed while the checkpoint is pending').toEqual([false, false]);
    expect(log).toEqual(['checkpointer 2', 'writers 2']);
    const t1 = ports[0]?.triggers[0] as TriggerCheckpoint;
    await ack(0, t1);
    await ack(1, t1);
    await first;
    let done = false;
    void joining.then(() => (done = true));
    while (!done) {
      for (const p of list) p.slot.drainMailbox();
      await turn();
    }
    expect(exchanges.map(joinedEx)).toEqual([true, true]);
    expect(log).toEqual(['checkpointer 2', 'writers 2', 'alignment 2', 'loop 2', 'admitted 2']);
    expect(list.map((p) => p.slot.index)).toEqual([0, 1, 2]);
    expect(coordinator.parallelism).toBe(3);
    coordinator.stop('test', 'info');
  });
});
