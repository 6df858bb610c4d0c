// The commit barrier coordinator alone (commit-barriers.ts), its slots recorded: positions are
// committed only once every slot acknowledged, one barrier at a time (its commit included),
// and a declined, timed-out or keyed-state barrier commits nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../telemetry/logger.ts';
import { CommitBarrierCoordinator } from './commit-barriers.ts';
import type { CheckpointAck, SlotCheckpointPort, TriggerCheckpoint } from './messages.ts';

class RecordingSlot implements SlotCheckpointPort {
  readonly triggered: TriggerCheckpoint[] = [];
  readonly completed: number[] = [];
  readonly aborted: number[] = [];
  trigger(msg: TriggerCheckpoint): void {
    this.triggered.push(msg);
  }
  notifyComplete(id: number): void {
    this.completed.push(id);
  }
  notifyAborted(id: number): void {
    this.aborted.push(id);
  }
}

function ack(slot: number, id: number, position: unknown, operators: CheckpointAck['operators'] = {}): CheckpointAck {
  return { slot, checkpointId: id, operators, sources: { events: position }, sinks: {}, stateSize: 0, alignmentMs: 0 };
}

const INTERVAL = 1000;

describe('commit barriers', () => {
  let slots: RecordingSlot[];
  let commits: { id: number; positions: unknown[] }[];
  let release: (() => void) | undefined;
  let fail: Error | undefined;
  let c: CommitBarrierCoordinator;

  beforeEach(() => {
    vi.useFakeTimers();
    slots = [new RecordingSlot(), new RecordingSlot()];
    commits = [];
    release = undefined;
    fail = undefined;
    c = new CommitBarrierCoordinator({
      slots,
      intervalMs: INTERVAL,
      timeoutMs: 5000,
      logger: silentLogger(),
      commit: (id, acks) => {
        commits.push({ id, positions: acks.map((a) => a.sources['events']) });
        if (fail) return Promise.reject(fail);
        return new Promise<void>((r) => (release = r));
      },
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('triggers the first barrier one interval after start, at every slot, storing nothing', () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(slots[0]?.triggered).toEqual([]);
    vi.advanceTimersByTime(1);
    for (const s of slots) expect(s.triggered).toMatchObject([{ checkpointId: 1, kind: 'checkpoint', stop: false }]);
  });

  it('commits the positions recorded at the barrier only once every slot acknowledged, then notifies', async () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    c.acknowledge(ack(1, 1, 'p1'));
    expect(commits).toEqual([]);
    c.acknowledge(ack(0, 1, 'p0'));
    expect(commits).toEqual([{ id: 1, positions: ['p1', 'p0'] }]);
    expect(slots[0]?.completed).toEqual([]);
    release?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.completed).toBe(1);
    for (const s of slots) expect(s.completed).toEqual([1]);
  });

  it('one barrier at a time: no trigger while a commit is under way; the next one interval after it ended', async () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    c.acknowledge(ack(0, 1, 'a'));
    c.acknowledge(ack(1, 1, 'b'));
    vi.advanceTimersByTime(INTERVAL * 5);
    expect(slots[0]?.triggered.map((t) => t.checkpointId)).toEqual([1]);
    release?.();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(slots[0]?.triggered.map((t) => t.checkpointId)).toEqual([1, 2]);
  });

  it('a decline aborts the barrier: nothing committed, late acks ignored, the next barrier follows', () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    c.acknowledge(ack(0, 1, 'a'));
    c.decline({ slot: 1, checkpointId: 1, reason: 'sink failed' });
    c.acknowledge(ack(1, 1, 'b'));
    expect(commits).toEqual([]);
    for (const s of slots) expect(s.aborted).toEqual([1]);
    vi.advanceTimersByTime(INTERVAL);
    expect(slots[1]?.triggered.map((t) => t.checkpointId)).toEqual([1, 2]);
  });

  it('a barrier not acknowledged within the timeout is aborted', () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    c.acknowledge(ack(0, 1, 'a'));
    vi.advanceTimersByTime(5000);
    c.acknowledge(ack(1, 1, 'b'));
    expect(commits).toEqual([]);
    expect(slots[0]?.aborted).toEqual([1]);
  });

  it('an ack carrying keyed state aborts the barrier (a crash would lose that state)', () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    const handle = { file: 'f', size: 1, sha256: '', keyGroupRange: { start: 0, end: 1 } };
    c.acknowledge(ack(0, 1, 'a', { counts: handle }));
    c.acknowledge(ack(1, 1, 'b'));
    expect(commits).toEqual([]);
    expect(slots[1]?.aborted).toEqual([1]);
  });

  it('a failed commit is not fatal: the barrier counts as aborted, the next one commits', async () => {
    fail = new Error('group has live members');
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    c.acknowledge(ack(0, 1, 'a'));
    c.acknowledge(ack(1, 1, 'b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(slots[0]?.aborted).toEqual([1]);
    fail = undefined;
    await vi.advanceTimersByTimeAsync(INTERVAL);
    c.acknowledge(ack(0, 2, 'c'));
    c.acknowledge(ack(1, 2, 'd'));
    expect(commits.map((x) => x.id)).toEqual([1, 2]);
  });

  it('stop aborts a barrier still collecting acks, and triggers no more', () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    void c.stop();
    c.acknowledge(ack(0, 1, 'a'));
    c.acknowledge(ack(1, 1, 'b'));
    vi.advanceTimersByTime(INTERVAL * 3);
    expect(commits).toEqual([]);
    expect(slots[0]?.aborted).toEqual([1]);
    expect(slots[0]?.triggered).toHaveLength(1);
  });

  it('stop waits for a commit under way (the final commit must not be overtaken by it)', async () => {
    c.start();
    vi.advanceTimersByTime(INTERVAL);
    c.acknowledge(ack(0, 1, 'a'));
    c.acknowledge(ack(1, 1, 'b'));
    let stopped = false;
    void c.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(true);
  });
});
