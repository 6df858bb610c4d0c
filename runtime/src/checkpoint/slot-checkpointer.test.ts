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

  describe('once the sinks closed (a stopped job still answering the coordinator)', () => {
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

    it('once the job is stopping, a checkpoint is declined and a savepoint still answered', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'slot-cp-'));
      const stopping = answered();
      stopping.cp.registerTask(stoppedTask);
      stopping.cp.stopping('the job is stopping: its sources end');
      stopping.cp.trigger({ checkpointId: 9, timestamp: 0, kind: 'checkpoint', stop: false, dir });
      expect(await stopping.first).toEqual({
        slot: 1,
        checkpointId: 9,
        reason: 'the job is stopping: its sources end',
      });
      const savepoint = answered();
      savepoint.cp.registerTask(stoppedTask);
      savepoint.cp.stopping('the job is stopping: its sources end');
      savepoint.cp.trigger({ checkpointId: 10, timestamp: 0, kind: 'savepoint', stop: false, dir });
      const sp = await savepoint.first;
      expect(sp).toMatchObject({ slot: 1, checkpointId: 10 });
      expect(sp, 'acknowledged, not declined').not.toHaveProperty('reason');
    });

    /** A checkpoint whose pre-commit is still under way when `end` runs: its answer comes after. */
    async function declinedWhileWriting(end: (cp: SlotCheckpointer) => void, committed: readonly unknown[]) {
      const { cp, first } = answered();
      const dir = await mkdtemp(join(tmpdir(), 'slot-cp-'));
      let flushed!: (c: readonly unknown[]) => void;
      const committables = new Promise<readonly unknown[]>((r) => (flushed = r));
      cp.registerTask({
        done: true,
        finalSnapshot: () => ({ ...stoppedTask.finalSnapshot(), sinks: [{ name: 'out', committables }] }),
      });
      cp.trigger({ checkpointId: 8, timestamp: 0, kind: 'checkpoint', stop: false, dir });
      end(cp);
      flushed(committed);
      return first;
    }

    it('a checkpoint still being written when the stop began is declined', async () => {
      const answer = await declinedWhileWriting((cp) => cp.stopping('the job is stopping: its sources end'), []);
      expect(answer).toMatchObject({ checkpointId: 8, reason: 'the job is stopping: its sources end' });
    });

    it('a checkpoint whose pre-commit was still under way when the sinks closed is declined', async () => {
      // The close aborts that transaction right after: the pre-commit still answers, with it.
      const answer = await declinedWhileWriting(
        (cp) => cp.sinksClosed('the job ended (stopped): its sinks are closing'),
        [{ transactionalId: 'job-out-1-0' }],
      );
      expect(answer).toMatchObject({ checkpointId: 8, reason: expect.stringMatching(/sinks are closing/) });
    });
  });
});
