// A slot that leaves a running job (live rescale, scale in across processes: rescale/leave-across.ts) takes the
// completed checkpoint slot 0 names as its final one (SlotCheckpointer.left), although the job goes on and no
// completion says `final`; a slot with a task still running cannot leave.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../telemetry/logger.ts';
import { SlotCheckpointer, type TaskSnapshot } from './slot-checkpointer.ts';

const task = (done: boolean): { done: boolean; finalSnapshot: () => TaskSnapshot } => ({
  done,
  finalSnapshot: () => ({ keyed: [], sources: [], sinks: [], alignmentMs: 0, finished: true }),
});

function checkpointer(): SlotCheckpointer {
  return new SlotCheckpointer({
    slot: 2,
    post: (cb) => cb(),
    coordinator: { acknowledge: () => undefined, decline: () => undefined },
    logger: silentLogger(),
    onComplete: () => {},
    onAborted: () => {},
  });
}

const settledWithin = (p: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('SlotCheckpointer.left', () => {
  it('a finished slot told it left resolves finalCompleted with the named checkpoint', async () => {
    const cp = checkpointer();
    cp.registerTask(task(true));
    cp.registerTask(task(true));
    // A completion that is not the job's final one does not end the slot.
    cp.notifyComplete(7, false);
    expect(await settledWithin(cp.finalCompleted, 20)).toBe(false);
    cp.left(7);
    expect(await cp.finalCompleted).toBe(7);
  });

  it('a slot with a task still running cannot leave', async () => {
    const cp = checkpointer();
    cp.registerTask(task(true));
    cp.registerTask(task(false));
    expect(() => cp.left(7)).toThrow(/slot 2 cannot leave: 1 of its tasks still run/);
    expect(await settledWithin(cp.finalCompleted, 20)).toBe(false);
  });
});
