import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { CheckpointAck, CheckpointDecline } from './messages.ts';
import { SlotCheckpointer, type TaskSnapshot } from './slot-checkpointer.ts';

const running = {
  done: false,
  finalSnapshot: (): TaskSnapshot => ({ keyed: [], sources: [], sinks: [], alignmentMs: 0, finished: true }),
};

function checkpointer(onSinkFailed?: (e: unknown) => void): {
  cp: SlotCheckpointer;
  acks: CheckpointAck[];
  declines: CheckpointDecline[];
} {
  const acks: CheckpointAck[] = [];
  const declines: CheckpointDecline[] = [];
  const cp = new SlotCheckpointer({
    slot: 0,
    post: (cb) => cb(),
    coordinator: { acknowledge: (a) => acks.push(a), decline: (d) => declines.push(d) },
    logger: silentLogger(),
    onComplete: () => {},
    onAborted: () => {},
    ...(onSinkFailed ? { onSinkFailed } : {}),
  });
  return { cp, acks, declines };
}

describe('SlotCheckpointer', () => {
  it('a sink pre-commit that rejects after its checkpoint was declined is not an unhandled rejection', async () => {
    const { cp, declines } = checkpointer();
    cp.registerTask(running);
    cp.registerTask(running);
    cp.taskDeclined(3, 'aborted at a gate');
    let reject!: (e: Error) => void;
    const committables = new Promise<readonly unknown[]>((_, rej) => (reject = rej));
    cp.taskSnapshot(3, 0, { keyed: [], sources: [], sinks: [{ name: 'out', committables }], alignmentMs: 0 });
    reject(new Error('send failed'));
    await new Promise((r) => setTimeout(r, 20));
    expect(declines.map((d) => d.checkpointId)).toEqual([3]);
  });

  it('a pre-commit failure of a checkpoint in progress still declines it', async () => {
    const { cp, acks, declines } = checkpointer();
    cp.registerTask(running);
    cp.trigger({ checkpointId: 4, timestamp: 0, kind: 'checkpoint', stop: false, dir: '/nonexistent' });
    cp.taskSnapshot(4, 0, {
      keyed: [],
      sources: [],
      sinks: [{ name: 'out', committables: Promise.reject(new Error('send failed')) }],
      alignmentMs: 0,
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(acks).toEqual([]);
    expect(declines[0]?.reason).toMatch(/send failed/);
  });

  it('a pre-commit rejected with TRIB_CONNECTOR_FAILED reports the sink failed (the job fails), with its error', async () => {
    // A broken sink stays broken: declining its checkpoints alone would leave a job that neither
    // checkpoints nor fails.
    let failed!: (e: unknown) => void;
    const sinkFailed = new Promise<unknown>((r) => (failed = r));
    const { cp, acks } = checkpointer(failed);
    cp.registerTask(running);
    cp.trigger({ checkpointId: 5, timestamp: 0, kind: 'checkpoint', stop: false, dir: '/nonexistent' });
    const err = new TributaryError('TRIB_CONNECTOR_FAILED', 'sink "out": transactional send to t failed: broker gone');
    cp.taskSnapshot(5, 0, {
      keyed: [],
      sources: [],
      sinks: [{ name: 'out', committables: Promise.reject(err) }],
      alignmentMs: 0,
    });
    expect(await sinkFailed).toBe(err);
    expect(acks).toEqual([]);
  });

  it('a finished task contributes its final snapshot; the ack is finished once every task finished', async () => {
    const { cp, acks, declines } = checkpointer();
    const dir = await mkdtemp(join(tmpdir(), 'slot-cp-'));
    const source = {
      done: false,
      finalSnapshot: (): TaskSnapshot => ({
        keyed: [],
        sources: [{ name: 'in', position: { end: true } }],
        sinks: [],
        alignmentMs: 0,
        finished: true,
      }),
    };
    const gate = {
      done: false,
      finalSnapshot: (): TaskSnapshot => ({
        keyed: [],
        sources: [],
        sinks: [{ name: 'out', committables: ['t'] }],
        alignmentMs: 0,
        finished: true,
      }),
    };
    const injected: number[] = [];
    cp.registerTask(source, { name: 'source:in', injectBarrier: (b) => (injected.push(b.id), true) });
    const g = cp.registerTask(gate);
    // checkpoint 1: the source is done (end of input) → final snapshot, no barrier; the gate still runs
    source.done = true;
    cp.trigger({ checkpointId: 1, timestamp: 0, kind: 'checkpoint', stop: false, dir });
    expect(injected).toEqual([]);
    // the gate finishes before any barrier 1 reached it
    gate.done = true;
    cp.taskFinished(g);
    await new Promise((r) => setTimeout(r, 20));
    expect(declines).toEqual([]);
    expect(acks).toHaveLength(1);
    expect(acks[0]?.finished).toBe(true);
    expect(acks[0]?.sources).toEqual({ in: { end: true } });
    expect(acks[0]?.sinks).toEqual({ out: ['t'] });
    let final: number | undefined;
    void cp.finalCompleted.then((id) => (final = id));
    cp.notifyComplete(1, true);
    await new Promise((r) => setTimeout(r, 5));
    expect(final).toBe(1);
  });

  it('an ack is not finished while a task snapshotted at a barrier', async () => {
    const { cp, acks } = checkpointer();
    const dir = await mkdtemp(join(tmpdir(), 'slot-cp-'));
    const i = cp.registerTask(running, {
      name: 'source:in',
      injectBarrier: (b) => (cp.taskSnapshot(b.id, i, { keyed: [], sources: [], sinks: [], alignmentMs: 0 }), true),
    });
    cp.trigger({ checkpointId: 2, timestamp: 0, kind: 'checkpoint', stop: false, dir });
    await new Promise((r) => setTimeout(r, 20));
    expect(acks).toHaveLength(1);
    expect(acks[0]?.finished).toBeUndefined();
  });

  describe('a stopping or stopped job (a stop under way, or its sinks closed)', () => {
    /** The coordinator's side: resolves at the first ack or decline. */
    function answered(): { cp: SlotCheckpointer; first: Promise<CheckpointAck | CheckpointDecline> } {
      let answer!: (m: CheckpointAck | CheckpointDecline) => void;
      const first = new Promise<CheckpointAck | CheckpointDecline>((r) => (answer = r));
      const cp = new SlotCheckpointer({
        slot: 1,
        post: (cb) => cb(),
        coordinator: { acknowledge: answer, decline: answer },
        logger: silentLogger(),
        onComplete: () => {},
        onAborted: () => {},
      });
      return { cp, first };
    }
    // A task ended by a plain stop looks finished; its sink, closed as 'stopped', aborted its open
    // transaction and now pre-commits nothing.
    const stoppedTask = {
      done: true,
      finalSnapshot: (): TaskSnapshot => ({
        keyed: [],
        sources: [{ name: 'in', position: { offsets: { '1': '5000' } } }],
        sinks: [{ name: 'out', committables: [] }],
        alignmentMs: 0,
        finished: true,
      }),
    };

    it('a checkpoint triggered after the sinks closed is declined, not acknowledged with the final snapshot', async () => {
      const { cp, first } = answered();
      const dir = await mkdtemp(join(tmpdir(), 'slot-cp-'));
      cp.registerTask(stoppedTask);
      cp.sinksClosed('the job ended (stopped): its sinks are closing');
      cp.trigger({ checkpointId: 7, timestamp: 0, kind: 'checkpoint', stop: false, dir });
      expect(await first).toEqual({
        slot: 1,
        checkpointId: 7,
        reason: 'the job ended (stopped): its sinks are closing',
      });
    });

    const stop = 'the job is stopping: its sources end';
    const barrier = { timestamp: 0, stop: false } as const;

    /** A slot with one source task, ended (end of input) or still reading; its pre-commit waits for `flushed`. */
    async function slotWithSource(ended: boolean) {
      const { cp, first } = answered();
      const dir = await mkdtemp(join(tmpdir(), 'slot-cp-'));
      let flushed!: (c: readonly unknown[]) => void;
      const committables = new Promise<readonly unknown[]>((r) => (flushed = r));
      const snap: TaskSnapshot = { ...stoppedTask.finalSnapshot(), sinks: [{ name: 'out', committables }] };
      cp.registerTask({ done: ended, finalSnapshot: () => snap }, { name: 'in', injectBarrier: () => true });
      /** The source's barrier passed it (a reading source's snapshot; an ended one gave its final snapshot). */
      const barrierPassed = (id: number) => {
        if (!ended) cp.taskSnapshot(id, 0, { ...snap, finished: false });
      };
      return { cp, first, dir, flushed, barrierPassed };
    }

    it('once a stop ended its sources, a checkpoint is declined', async () => {
      const { cp, first, dir } = await slotWithSource(false);
      cp.stopping(stop);
      cp.trigger({ ...barrier, checkpointId: 9, kind: 'checkpoint', dir });
      expect(await first).toEqual({ slot: 1, checkpointId: 9, reason: stop });
    });

    it('once a stop ended its sources, a periodic or upgrade savepoint is declined too', async () => {
      // Only the savepoint that causes the stop pauses the sources at its barrier; one triggered
      // after a plain stop would record the windows the stop fired early.
      for (const stopsTheJob of [false, true]) {
        const { cp, first, dir, flushed, barrierPassed } = await slotWithSource(false);
        cp.stopping(stop);
        cp.trigger({ ...barrier, checkpointId: 10, kind: 'savepoint', stop: stopsTheJob, dir });
        barrierPassed(10);
        flushed([]);
        expect(await first, `stop: ${stopsTheJob}`).toEqual({ slot: 1, checkpointId: 10, reason: stop });
      }
    });

    it('a stop-with-savepoint triggered before the stop is still acknowledged', async () => {
      const { cp, first, dir, flushed, barrierPassed } = await slotWithSource(false);
      cp.trigger({ ...barrier, checkpointId: 11, kind: 'savepoint', stop: true, dir });
      cp.stopping(stop);
      barrierPassed(11);
      flushed([]);
      const sp = await first;
      expect(sp).toMatchObject({ slot: 1, checkpointId: 11 });
      expect(sp, 'acknowledged, not declined').not.toHaveProperty('reason');
    });

    it('a checkpoint still being written when the stop began is declined', async () => {
      const { cp, first, dir, flushed, barrierPassed } = await slotWithSource(false);
      cp.trigger({ ...barrier, checkpointId: 8, kind: 'checkpoint', dir });
      barrierPassed(8);
      cp.stopping(stop);
      flushed([]);
      expect(await first).toMatchObject({ checkpointId: 8, reason: stop });
    });

    it('sources at their end of input before the stop: the final checkpoint under way is acknowledged', async () => {
      // The stop ends nothing here: its final checkpoint holds the whole input (a bounded job
      // stopped during its final checkpoint commits its last epoch and exits).
      const { cp, first, dir, flushed } = await slotWithSource(true);
      cp.trigger({ ...barrier, checkpointId: 12, kind: 'checkpoint', dir });
      cp.stopping(stop);
      flushed([]);
      const ack = await first;
      expect(ack).toMatchObject({ slot: 1, checkpointId: 12, finished: true });
      expect(ack, 'acknowledged, not declined').not.toHaveProperty('reason');
    });

    it('sources at their end of input before the stop: a final checkpoint triggered after it is acknowledged', async () => {
      const { cp, first, dir, flushed } = await slotWithSource(true);
      cp.stopping(stop);
      cp.trigger({ ...barrier, checkpointId: 13, kind: 'checkpoint', dir });
      flushed([]);
      const ack = await first;
      expect(ack).toMatchObject({ slot: 1, checkpointId: 13, finished: true });
      expect(ack, 'acknowledged, not declined').not.toHaveProperty('reason');
    });

    it('a checkpoint whose pre-commit was still under way when the sinks closed is declined', async () => {
      // The close aborts that transaction right after: the pre-commit still answers, with it.
      const { cp, first, dir, flushed } = await slotWithSource(true);
      cp.trigger({ ...barrier, checkpointId: 8, kind: 'checkpoint', dir });
      cp.sinksClosed('the job ended (stopped): its sinks are closing');
      flushed([{ transactionalId: 'job-out-1-0' }]);
      expect(await first).toMatchObject({ checkpointId: 8, reason: expect.stringMatching(/sinks are closing/) });
    });
  });
});
