// What keeps a live migration across processes from hanging (migration.ts with a transport):
// a process that does not drive keeps a step it bound until the step's checkpoint completed, so an
// old owner's keyed task that sees the barrier after the slot's partition part was reported still
// hands its key groups over (the cause of the xproc test's 2-of-3 acknowledgements); a step whose
// reports do not all arrive within the step timeout fails naming the slot and what it owed; a plan
// touching a slot whose tasks finished is refused before anything moves, here or in another process.
import { describe, expect, it } from 'vitest';
import type { MigrationStepOnWire } from '../checkpoint/messages.ts';
import type { SourceReader } from '../connectors/api.ts';
import type { MigrationPlan } from './plan.ts';
import { keyGroupRangeForSlot, slotForKeyGroup } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import type { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import type { GateTask } from '../exec/gate-task.ts';
import { LiveMigration } from './migration.ts';
import type { MigrationRpc, MigrationTransport } from './migration-rpc.ts';

const MAXP = 8;
const firstOf = (slot: number): number =>
  [...Array(MAXP).keys()].find((kg) => slotForKeyGroup(kg, 3, MAXP) === slot) as number;

function planOf(keyGroup: number, from: number, to: number): MigrationPlan {
  return {
    maxParallelism: MAXP,
    from: 3,
    to: 3,
    budgetBytes: 0,
    steps: [{ keyGroups: [{ keyGroup, from, to, bytes: 0 }], partitions: [], bytes: 0 }],
    totalBytes: 0,
    movedKeyGroups: 1,
    movedPartitions: 0,
  };
}

/** A keyed task of `slot` with a real backend of its formula range; `done`: its task finished. */
function keyedChain(slot: number, done = false): { chain: ChainCheckpoint; gate: GateTask } {
  const keyedBackend = new KeyedStateBackend(MAXP, keyGroupRangeForSlot(slot, 3, MAXP));
  const chain = { stateful: [{ stateName: 'count', keyedBackend }], exchanges: [], done } as unknown as ChainCheckpoint;
  const gate = { holdKeyGroups: () => undefined, installed: () => undefined } as unknown as GateTask;
  return { chain, gate };
}

function process(slot: number, transport: MigrationTransport, o: { done?: boolean; stepTimeoutMs?: number } = {}) {
  const m = new LiveMigration({ maxParallelism: MAXP, parallelism: 3, transport, stepTimeoutMs: o.stepTimeoutMs });
  m.addChain({ slot, ...keyedChain(slot, o.done), post: (cb) => cb() });
  return m;
}

describe('a process that does not drive keeps the step until its checkpoint completed', () => {
  it('its keyed task hands key groups over at the barrier after the slot reported its partition part', async () => {
    const sent: [number, MigrationRpc][] = [];
    const m = new LiveMigration({
      maxParallelism: MAXP,
      parallelism: 3,
      transport: { send: (s, x) => sent.push([s, x]) },
    });
    const reader = {
      movableTopic: () => 't',
      handOverPartitions: (ps: readonly number[]) => ({
        positions: new Map(ps.map((p) => [p, 40n] as const)),
        restarted: Promise.resolve(),
      }),
      takeOverPartitions: () => Promise.resolve(),
    } as unknown as SourceReader;
    const source = { stateful: [], exchanges: [] } as unknown as ChainCheckpoint;
    m.addChain({ slot: 2, chain: source, gate: undefined, post: (cb) => cb(), source: { name: 'events', reader } });
    const keyed = keyedChain(2);
    m.addChain({ slot: 2, ...keyed, post: (cb) => cb() });
    const kg = firstOf(2);
    const wire: MigrationStepOnWire = {
      index: 0,
      keyGroups: [{ keyGroup: kg, from: 2, to: 1 }],
      partitions: [{ source: 'events', topic: 't', partition: 4, from: 2, to: 1 }],
    };
    m.bind(9, wire);
    source.onStepBarrier?.(9);
    await new Promise((r) => setTimeout(r, 10));
    expect(sent.map(([s, x]) => [s, x.m])).toEqual([
      [1, 'mig-positions'],
      [0, 'mig-done'],
    ]);
    // The keyed task's barrier comes later (a backlog in its input): the step is still bound here.
    keyed.chain.onStepBarrier?.(9);
    expect(sent[2]).toMatchObject([1, { m: 'mig-handoff', barrierId: 9, from: 2, to: 1, keyGroups: [kg] }]);
    expect(keyed.chain.stateful[0]?.keyedBackend?.owns(kg)).toBe(false);
    m.checkpointCompleted(9);
    keyed.chain.onStepBarrier?.(9);
    expect(sent).toHaveLength(3);
  });
});

describe('a later checkpoint waits for the take-overs of an earlier step', () => {
  it('its trigger reaches the slot only once the handed-over positions arrived and were taken over', () => {
    const log: string[] = [];
    const m = new LiveMigration({ maxParallelism: MAXP, parallelism: 3, transport: { send: () => undefined } });
    const reader = {
      movableTopic: () => 't',
      takeOverPartitions: (ps: ReadonlyMap<number, bigint>) => {
        log.push(`take over ${[...ps].join(':')}`);
        return new Promise<void>(() => undefined);
      },
    } as unknown as SourceReader;
    const source = { stateful: [], exchanges: [] } as unknown as ChainCheckpoint;
    m.addChain({ slot: 1, chain: source, gate: undefined, post: (cb) => cb(), source: { name: 'events', reader } });
    m.bind(9, {
      index: 0,
      keyGroups: [],
      partitions: [{ source: 'events', topic: 't', partition: 4, from: 2, to: 1 }],
    });
    m.afterTakeOvers(9, () => log.push('trigger 9'));
    source.onStepBarrier?.(9);
    // Checkpoint 9 completed; checkpoint 10's trigger came before slot 2's positions (another link).
    m.afterTakeOvers(10, () => log.push('trigger 10'));
    m.afterTakeOvers(11, () => log.push('trigger 11'));
    expect(log).toEqual(['trigger 9']);
    m.receive(2, { m: 'mig-positions', barrierId: 9, source: 'events', from: 2, to: 1, positions: [[4, '40']] });
    expect(log).toEqual(['trigger 9', 'take over 4,40', 'trigger 10', 'trigger 11']);
  });
});

describe('every step of a migration across processes is bounded', () => {
  /** Slot 0's process driving, slots 1 and 2 in processes that answer as `answer` says (mig-done never). */
  function driver(o: { stepTimeoutMs: number; answer?: (s: number, x: MigrationRpc) => void; done?: boolean }) {
    const sent: [number, MigrationRpc][] = [];
    const m: LiveMigration = process(
      0,
      {
        send: (s, x) => {
          sent.push([s, x]);
          if (o.answer) queueMicrotask(() => o.answer?.(s, x));
          else if (x.m === 'mig-prepare') queueMicrotask(() => m.receive(s, { m: 'mig-ready', id: x.id, slot: s }));
        },
      },
      o,
    );
    return { m, sent };
  }

  it('a mig-done that never comes fails the step after the step timeout, naming the slot and what it owed', async () => {
    const { m } = driver({ stepTimeoutMs: 60 });
    const kg = firstOf(1);
    const t0 = performance.now();
    const ran = m.run(planOf(kg, 1, 2), () => {
      m.onTrigger(4);
      return Promise.resolve();
    });
    await expect(ran).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: expect.stringContaining(
        `live rescale step 0 (checkpoint 4) was not done within 60 ms: slot 2 did not report ` +
          `(mig-done: key groups ${kg} installed (from slot 1))`,
      ) as unknown,
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(m.owners()[kg], 'the step did not take effect').toBe(1);
    expect(m.busy).toBe(false);
  });

  it('a slot of another process whose tasks finished refuses the plan before anything moves', async () => {
    const back: { m?: LiveMigration } = {};
    const finished = process(1, { send: (s, x) => queueMicrotask(() => back.m?.receive(1, x)) }, { done: true });
    const running = process(2, { send: (s, x) => queueMicrotask(() => back.m?.receive(2, x)) });
    const { m } = driver({
      stepTimeoutMs: 5000,
      answer: (s, x) => (s === 1 ? finished : running).receive(0, x),
    });
    back.m = m;
    let triggered = false;
    const ran = m.run(planOf(firstOf(1), 1, 2), () => {
      triggered = true;
      return Promise.resolve();
    });
    await expect(ran).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringContaining('slot 1: its task of step "count" finished (end of input)') as unknown,
    });
    expect(triggered, 'no step began').toBe(false);
    expect(m.busy).toBe(false);
  });

  it('a slot that never answers the prepare refuses the plan after the step timeout', async () => {
    const { m } = driver({ stepTimeoutMs: 40, answer: () => undefined });
    let triggered = false;
    const ran = m.run(planOf(firstOf(1), 1, 2), () => {
      triggered = true;
      return Promise.resolve();
    });
    await expect(ran).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringContaining(
        'slot 1, 2 did not answer whether it can take part (mig-prepare) within 40 ms',
      ) as unknown,
    });
    expect(triggered).toBe(false);
  });

  it('a slot of this process whose tasks finished refuses the plan at once', async () => {
    const { m, sent } = driver({ stepTimeoutMs: 5000, done: true });
    await expect(m.run(planOf(firstOf(0), 0, 1), () => Promise.resolve())).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringContaining('slot 0: its task of step "count" finished') as unknown,
    });
    expect(sent).toEqual([]);
  });
});
