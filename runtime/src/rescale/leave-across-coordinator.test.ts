// Slot 0's side of a scale in across slot processes (leave-across-coordinator.ts), with stand-ins for the slots, the
// coordinator and the job: the order of the messages, the membership change inside the exclusive section only after
// the leaving slots committed their final checkpoint, and every wait bounded, failing the job naming the slot.
import { describe, expect, it } from 'vitest';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { DrainRpc } from './leave-rpc.ts';
import { LeaveAcrossCoordinator } from './leave-across-coordinator.ts';

interface Stage {
  drain: LeaveAcrossCoordinator;
  log: string[];
  failed: unknown[];
  /** The slots' answers: each step of theirs can be held back. */
  answer: { drained: boolean; commit: boolean; left: boolean; drainedError?: string };
  checkpoint: () => Promise<CompletedCheckpoint>;
}

const completed = (id: number): CompletedCheckpoint =>
  ({ id, kind: 'checkpoint', path: `/cp/chk-${id}`, completedAt: '', durationMs: 1 }) as unknown as CompletedCheckpoint;

/** A job of `to` slots whose slots from..to−1 leave; the stand-in slots answer as `answer` says. */
function stage(from: number, to: number, timeoutMs = 200): Stage {
  const log: string[] = [];
  const failed: unknown[] = [];
  let exclusive = false;
  let nextId = 7;
  const s: Stage = {
    log,
    failed,
    answer: { drained: true, commit: true, left: true },
    checkpoint: () => Promise.resolve(completed(nextId++)),
    drain: undefined as unknown as LeaveAcrossCoordinator,
  };
  const drain = new LeaveAcrossCoordinator({
    send: (slot: number, msg: DrainRpc) => {
      log.push(`${msg.m}→${slot}${exclusive ? ' (exclusive)' : ''}`);
      if (slot < from) return;
      setTimeout(() => {
        if (msg.m === 'mig-drain' && s.answer.drained)
          drain.receive(slot, {
            m: 'mig-drained',
            slot,
            ...(s.answer.drainedError ? { error: s.answer.drainedError } : {}),
          });
        if (msg.m === 'mig-leave' && s.answer.left) drain.receive(slot, { m: 'mig-left', slot });
      }, 5);
    },
    triggerCheckpoint: async () => {
      const c = await s.checkpoint();
      log.push(`checkpoint ${c.id}`);
      if (s.answer.commit) for (let x = from; x < to; x++) setTimeout(() => drain.committed(x, c.id), 5);
      return c;
    },
    exclusive: async (fn) => {
      exclusive = true;
      try {
        await fn();
      } finally {
        exclusive = false;
      }
    },
    dismiss: (slot) => log.push(`dismiss ${slot}${exclusive ? ' (exclusive)' : ''}`),
    fail: (e) => failed.push(e),
    timeoutMs,
    logger: silentLogger(),
  });
  s.drain = drain;
  return s;
}

describe('LeaveAcrossCoordinator (scale in across slot processes, slot 0)', () => {
  it('drains, takes the final checkpoint, dismisses inside the exclusive section after the commit, then waits for the leaving', async () => {
    const s = stage(2, 4);
    expect(await s.drain.run(2, 4)).toBe(7);
    expect(s.log).toEqual([
      'mig-drain→0',
      'mig-drain→1',
      'mig-drain→2',
      'mig-drain→3',
      'checkpoint 7',
      'dismiss 3 (exclusive)',
      'dismiss 2 (exclusive)',
      'mig-leave→0 (exclusive)',
      'mig-leave→1 (exclusive)',
      'mig-leave→2 (exclusive)',
      'mig-leave→3 (exclusive)',
    ]);
    expect(s.failed).toEqual([]);
  });

  it('a commit of an earlier checkpoint does not count for the final one', async () => {
    const s = stage(2, 3);
    s.answer.commit = false;
    s.drain.committed(2, 6);
    await expect(s.drain.run(2, 3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: expect.stringContaining('slot 2 did not commit its final checkpoint 7') as unknown,
    });
    expect(s.log.some((l) => l.startsWith('dismiss'))).toBe(false);
  });

  it('a draining slot that never finishes fails the rescale by the deadline, naming it, and fails the job', async () => {
    const s = stage(1, 3, 300);
    const t0 = Date.now();
    s.answer.drained = false;
    const err = await s.drain.run(1, 3).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message:
        'live rescale: draining was not done within 300 ms: slot 1 did not finish (its tasks did not all end); ' +
        'slot 2 did not finish (its tasks did not all end)',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(s.failed).toEqual([err]);
    expect(s.log.filter((l) => !l.startsWith('mig-drain'))).toEqual([]);
  });

  it('a slot that reports it could not drain fails the rescale naming it', async () => {
    const s = stage(2, 3);
    s.answer.drainedError = 'boom';
    await expect(s.drain.run(2, 3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: 'slot 2 could not drain: boom',
    });
    expect(s.failed).toHaveLength(1);
  });

  it('a final checkpoint that fails fails the rescale', async () => {
    const s = stage(2, 3);
    s.checkpoint = () => Promise.reject(new Error('declined by slot 1'));
    await expect(s.drain.run(2, 3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: 'the final checkpoint of slots 2..2 failed: declined by slot 1',
    });
    expect(s.failed).toHaveLength(1);
  });

  it('a leaving slot whose job never finishes fails the rescale by the deadline after it was dismissed', async () => {
    const s = stage(2, 3);
    s.answer.left = false;
    await expect(s.drain.run(2, 3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: expect.stringContaining('slot 2 did not leave') as unknown,
    });
    expect(s.log).toContain('dismiss 2 (exclusive)');
  });

  it('refuses a range that is not a scale in, and a second drain while one runs', async () => {
    const s = stage(2, 3);
    await expect(s.drain.run(0, 3)).rejects.toMatchObject({ code: 'TRIB_RESCALE_PLAN_INVALID' });
    await expect(s.drain.run(3, 3)).rejects.toMatchObject({ code: 'TRIB_RESCALE_PLAN_INVALID' });
    const first = s.drain.run(2, 3);
    await expect(s.drain.run(2, 3)).rejects.toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED' });
    await first;
    expect(s.failed).toEqual([]);
  });
});
