// The driving side of a live migration across processes (migration.ts with a transport): the
// step travels with the trigger, and slot 0's migrate resolves a step only once its checkpoint
// completed and every involved slot of another process reported (mig-done); a report with an error
// fails the step. Without a transport (every slot in one process) the trigger carries nothing. Messages
// held for a barrier not bound yet are dropped once it can no longer be.
import { describe, expect, it } from 'vitest';
import type { MigrationStepOnWire } from '../checkpoint/messages.ts';
import type { MigrationPlan } from './plan.ts';
import { slotForKeyGroup } from '../state/key-groups.ts';
import type { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import type { GateTask } from '../exec/gate-task.ts';
import { LiveMigration, type MigratingChain } from './migration.ts';
import type { MigrationRpc } from './migration-rpc.ts';

const MAXP = 8;
/** A key group slot 1 owns at parallelism 3: the plan moves it to slot 2 (both in other processes). */
const KG = [...Array(MAXP).keys()].find((kg) => slotForKeyGroup(kg, 3, MAXP) === 1) as number;
const plan: MigrationPlan = {
  maxParallelism: MAXP,
  from: 3,
  to: 3,
  budgetBytes: 0,
  steps: [{ keyGroups: [{ keyGroup: KG, from: 1, to: 2, bytes: 0 }], partitions: [], bytes: 0 }],
  totalBytes: 0,
  movedKeyGroups: 1,
  movedPartitions: 0,
} as MigrationPlan;

/** Slot 0's keyed chain (its keyed backend is never touched: slot 0 is not in the step). */
function slot0(): MigratingChain {
  const chain = { stateful: [{ stateName: 'count', keyedBackend: {} }], exchanges: [] } as unknown as ChainCheckpoint;
  return { slot: 0, chain, gate: {} as GateTask, post: (cb) => cb() };
}

/** Slot 0's process; the other processes answer its mig-prepare with yes (no `ready`) or not at all. */
function driver(o: { stepTimeoutMs?: number; ready?: boolean } = {}): {
  m: LiveMigration;
  sent: [number, MigrationRpc][];
} {
  const sent: [number, MigrationRpc][] = [];
  const m: LiveMigration = new LiveMigration({
    maxParallelism: MAXP,
    parallelism: 3,
    transport: {
      send: (s, x) => {
        sent.push([s, x]);
        if (x.m === 'mig-prepare' && o.ready !== false)
          queueMicrotask(() => m.receive(s, { m: 'mig-ready', id: x.id, slot: x.slot }));
      },
    },
    stepTimeoutMs: o.stepTimeoutMs,
  });
  m.addChain(slot0());
  return { m, sent };
}

describe('live migration driven across processes', () => {
  it('the trigger carries the step; the step resolves only with the new owner’s report', async () => {
    const { m } = driver();
    let wire: MigrationStepOnWire | undefined;
    let settled = false;
    const ran = m.run(plan, () => {
      wire = m.onTrigger(7);
      return Promise.resolve();
    });
    void ran.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(wire).toEqual({ index: 0, keyGroups: [{ keyGroup: KG, from: 1, to: 2 }], partitions: [] });
    expect(m.onTrigger(7), 'every slot’s trigger of the barrier carries it').toEqual(wire);
    expect(settled, 'checkpoint completed, report missing').toBe(false);
    m.receive(2, { m: 'mig-done', barrierId: 7, slot: 2 });
    await ran;
    expect(m.owners()[KG]).toBe(2);
  });

  it('a report with an error fails the step (TRIB_RESCALE_STEP_FAILED)', async () => {
    const { m } = driver();
    const ran = m.run(plan, () => {
      m.onTrigger(3);
      m.receive(2, { m: 'mig-done', barrierId: 3, slot: 2, error: 'install refused' });
      return Promise.resolve();
    });
    await expect(ran).rejects.toMatchObject({ code: 'TRIB_RESCALE_STEP_FAILED' });
    expect(m.owners()[KG]).toBe(1);
  });

  it('drops hand-offs held for a barrier never bound here once its checkpoint completed or was aborted', () => {
    // A process that does not drive: hand-offs of an aborted step's barrier came before its trigger, which never will.
    const m = new LiveMigration({ maxParallelism: MAXP, parallelism: 3, transport: { send: () => undefined } });
    m.addChain(slot0());
    const handoff = (barrierId: number): MigrationRpc => ({
      m: 'mig-handoff',
      barrierId,
      state: 'count',
      from: 1,
      to: 0,
      keyGroups: [KG],
      bytes: '',
    });
    m.receive(1, handoff(4));
    m.receive(1, handoff(5));
    m.receive(1, handoff(9));
    expect(m.early.size).toBe(3);
    m.onAbort(4, 'timed out');
    expect(m.early.size).toBe(2);
    m.checkpointCompleted(8);
    expect(m.early.size, 'barrier 9 may still be triggered').toBe(1);
    // Slot 0's process: a trigger comes only after the previous checkpoint ended.
    m.onTrigger(10);
    expect(m.early.size).toBe(0);
  });

  it('without a transport the trigger carries nothing', () => {
    const m = new LiveMigration({ maxParallelism: MAXP, parallelism: 3 });
    expect(m.onTrigger(1)).toBeUndefined();
  });
});
