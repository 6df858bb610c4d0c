// Before a plan moves anything (migration-prepare.ts), each slot it touches waits for its sources'
// partition assignment under way (a migration asked right after the start: the Kafka source still
// opening), then checks it reads every partition the plan first moves from it: in slot 0's own
// process before the first step, in another process before it answers mig-prepare.
import { describe, expect, it } from 'vitest';
import type { PollResult, SourceReader } from '../connectors/api.ts';
import type { MigrationPlan } from './plan.ts';
import type { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import { LiveMigration } from './migration.ts';
import type { MigrationRpc } from './migration-rpc.ts';

/** A reader that owns `later` only once its assignment settles (`settle`), or never (`settle` not called). */
function opening(later: number[]) {
  let owned: number[] = [];
  let settle = (): void => undefined;
  const settled = new Promise<void>((r) => (settle = () => ((owned = later), r())));
  const r: SourceReader = {
    open: () => Promise.resolve(),
    poll: (): PollResult => 'empty',
    close: () => Promise.resolve(),
    movableTopic: () => 't',
    ownedPartitions: () => owned,
    partitionsSettled: () => settled,
    handOverPartitions: (ps) => ({ positions: new Map(ps.map((p) => [p, 0n])), restarted: Promise.resolve() }),
    takeOverPartitions: () => Promise.resolve(),
  };
  return { r, settle };
}

const chain = (): ChainCheckpoint =>
  ({ stateful: [], exchanges: [], onStepBarrier: undefined, done: false }) as unknown as ChainCheckpoint;

const plan: MigrationPlan = {
  maxParallelism: 4,
  from: 2,
  to: 2,
  budgetBytes: 1,
  steps: [{ keyGroups: [], partitions: [{ source: 'events', topic: 't', partition: 1, from: 1, to: 0 }], bytes: 0 }],
  totalBytes: 0,
  movedKeyGroups: 0,
  movedPartitions: 1,
};

describe('a live migration waits for the partition assignment under way before it moves anything', () => {
  it('in slot 0 own process: the plan runs once slot 1 reads the partition, not before', async () => {
    const mig = new LiveMigration({ maxParallelism: 4, parallelism: 2, stepTimeoutMs: 5000 });
    const [slot0, slot1] = [opening([0]), opening([1])];
    slot0.settle();
    for (const [slot, r] of [slot0.r, slot1.r].entries())
      mig.addChain({
        slot,
        chain: chain(),
        gate: undefined,
        post: (cb) => cb(),
        source: { name: 'events', reader: r },
      });
    let triggered = false;
    const run = mig.run(plan, () => {
      triggered = true;
      return Promise.reject(new Error('the step went ahead'));
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(triggered, 'no step before slot 1 settled').toBe(false);
    slot1.settle();
    await expect(run).rejects.toThrow('the step went ahead');
  });

  it('in another process: mig-ready comes once the slot settled; a partition it does not read then refuses', async () => {
    const sent: MigrationRpc[] = [];
    const mig = new LiveMigration({
      maxParallelism: 4,
      parallelism: 2,
      stepTimeoutMs: 400,
      transport: { send: (_slot, msg) => sent.push(msg) },
    });
    const slot1 = opening([0]);
    mig.addChain({
      slot: 1,
      chain: chain(),
      gate: undefined,
      post: (cb) => cb(),
      source: { name: 'events', reader: slot1.r },
    });
    mig.receive(0, { m: 'mig-prepare', id: 9, slot: 1, partitions: [['events', 0]] });
    await new Promise((r) => setTimeout(r, 30));
    expect(sent, 'no answer before the assignment settled').toEqual([]);
    slot1.settle();
    await expect.poll(() => sent).toEqual([{ m: 'mig-ready', id: 9, slot: 1 }]);
    mig.receive(0, { m: 'mig-prepare', id: 10, slot: 1, partitions: [['events', 1]] });
    await expect
      .poll(() => sent[1])
      .toEqual({
        m: 'mig-ready',
        id: 10,
        slot: 1,
        code: 'TRIB_RESCALE_PLAN_INVALID',
        error: 'the plan moves partition 1 of source "events" from slot 1, which does not read it',
      });
  });

  it('an assignment that does not settle within half the step timeout refuses, naming the slot', async () => {
    const sent: MigrationRpc[] = [];
    const mig = new LiveMigration({
      maxParallelism: 4,
      parallelism: 2,
      stepTimeoutMs: 100,
      transport: { send: (_slot, msg) => sent.push(msg) },
    });
    const stuck = opening([0]);
    mig.addChain({
      slot: 1,
      chain: chain(),
      gate: undefined,
      post: (cb) => cb(),
      source: { name: 'events', reader: stuck.r },
    });
    mig.receive(0, { m: 'mig-prepare', id: 11, slot: 1, partitions: [['events', 0]] });
    await expect
      .poll(() => sent)
      .toEqual([
        {
          m: 'mig-ready',
          id: 11,
          slot: 1,
          code: 'TRIB_RESCALE_UNSUPPORTED',
          error: 'its partition assignment did not finish within 50 ms',
        },
      ]);
  });
});
