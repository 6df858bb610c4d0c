import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { CheckpointCoordinator, latestCheckpointPath } from './coordinator.ts';
import type { SlotCheckpointPort, TriggerCheckpoint } from './messages.ts';
import { readMetadata } from './metadata.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-coord-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Fake slots: record messages; the test decides when (and whether) they acknowledge. */
class FakeSlot implements SlotCheckpointPort {
  readonly triggers: TriggerCheckpoint[] = [];
  readonly completed: number[] = [];
  readonly aborted: number[] = [];
  /** Per abort: whether it asked for whole snapshots next (`rewrite`). */
  readonly rewrites: boolean[] = [];
  readonly slot: number;
  constructor(slot: number) {
    this.slot = slot;
  }
  trigger(m: TriggerCheckpoint): void {
    this.triggers.push(m);
  }
  notifyComplete(id: number): void {
    this.completed.push(id);
  }
  notifyAborted(id: number, _reason: string, rewrite?: boolean): void {
    this.aborted.push(id);
    this.rewrites.push(rewrite === true);
  }
}

async function setup(o: { timeoutMs?: number; retained?: number; keepAll?: boolean; intervalMs?: number } = {}) {
  const stateDir = await tempDir();
  const slots = [new FakeSlot(0), new FakeSlot(1)];
  const c = new CheckpointCoordinator({
    stateDir,
    slots,
    maxParallelism: 128,
    graphHash: 'g',
    timeoutMs: o.timeoutMs ?? 5000,
    retained: o.retained ?? 2,
    ...(o.keepAll ? { keepAll: true } : {}),
    ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
  });
  await c.start();
  const ack = async (slot: number, t: TriggerCheckpoint, finished = false): Promise<void> => {
    const f = await CheckpointStorage.writeStateFile(t.dir, `w.slot-${slot}.kstate`, new Uint8Array([slot, 1, 2, 3]));
    c.acknowledge({
      slot,
      checkpointId: t.checkpointId,
      operators: { w: { ...f, keyGroupRange: { start: slot * 64, end: slot * 64 + 63 } } },
      sources: { src: { off: slot } },
      sinks: { out: [{ txn: `t${slot}` }] },
      stateSize: 4,
      alignmentMs: 1,
      ...(finished ? { finished: true } : {}),
    });
  };
  const last = (s: FakeSlot): TriggerCheckpoint => s.triggers[s.triggers.length - 1] as TriggerCheckpoint;
  // Lets the coordinator act: returns once a new trigger reached the slots, else after 100 ms
  // (a trigger first records its id durably, which takes a variable time).
  let seen = 0;
  const tick = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const n = (slots[0] as FakeSlot).triggers.length;
      if (n !== seen) {
        seen = n;
        return;
      }
    }
  };
  /** Until every slot has received `n` triggers (a trigger is sent after async disk work: no fixed wait). */
  const triggered = async (n: number): Promise<void> => {
    while (slots.some((s) => s.triggers.length < n)) await new Promise((r) => setTimeout(r, 5));
  };
  return { stateDir, slots, c, ack, last, tick, triggered };
}

describe('CheckpointCoordinator', () => {
  it('completes when every slot acknowledged: metadata written, sinks notified', async () => {
    const { c, slots, ack, last, tick } = await setup();
    const p = c.trigger('checkpoint', false);
    await tick();
    const t = last(slots[0] as FakeSlot);
    await ack(0, t);
    await tick();
    await expect(stat(join(t.dir, '_metadata.json'))).rejects.toThrow(); // not before the last ack
    await ack(1, last(slots[1] as FakeSlot));
    const done = await p;
    expect(done.id).toBe(t.checkpointId);
    const m = await readMetadata(t.dir);
    expect(m.parallelism).toBe(2);
    expect(m.operators['w']?.keyed.map((k) => k.slot)).toEqual([0, 1]);
    expect(m.sinks['out']?.map((s) => s.committables)).toEqual([[{ txn: 't0' }], [{ txn: 't1' }]]);
    expect(slots.map((s) => s.completed)).toEqual([[t.checkpointId], [t.checkpointId]]);
  });

  it('aborts on decline and on timeout, notifying every slot; the directory is discarded', async () => {
    const { c, slots, ack, last, tick } = await setup({ timeoutMs: 50 });
    const p1 = c.trigger('checkpoint', false);
    await tick();
    c.decline({ slot: 1, checkpointId: last(slots[0] as FakeSlot).checkpointId, reason: 'task finished' });
    await expect(p1).rejects.toMatchObject({ code: 'TRIB_CHECKPOINT_DECLINED' });
    const p2 = c.trigger('checkpoint', false);
    await tick();
    const t2 = last(slots[0] as FakeSlot);
    await ack(0, t2);
    await expect(p2).rejects.toMatchObject({ code: 'TRIB_CHECKPOINT_TIMEOUT' });
    expect(slots[1]?.aborted.length).toBe(2);
    // Neither asks for full snapshots: the completed chains stay valid bases (incremental-chains.ts).
    expect(slots[1]?.rewrites).toEqual([false, false]);
    // The discard runs in the background (metadata first, then the folder): poll until it is gone.
    for (
      let i = 0;
      i < 100 &&
      (await stat(t2.dir).then(
        () => true,
        () => false,
      ));
      i++
    )
      await tick();
    await expect(stat(t2.dir)).rejects.toThrow();
    // A late ack (its files could not even be written: the directory is gone) is discarded.
    c.acknowledge({
      slot: 1,
      checkpointId: t2.checkpointId,
      operators: {},
      sources: {},
      sinks: {},
      stateSize: 0,
      alignmentMs: 0,
    });
    await tick();
    expect(slots[0]?.completed).toEqual([]);
  });

  it('lastIssuedCompleted: only once the last checkpoint issued completed (a join waits for it: join-across.ts)', async () => {
    const { c, slots, ack, last, tick } = await setup({ timeoutMs: 5000 });
    expect(c.lastIssuedCompleted).toBe(false); // none completed yet
    const p1 = c.trigger('checkpoint', false);
    await tick();
    expect(c.lastIssuedCompleted).toBe(false); // pending
    await ack(0, last(slots[0] as FakeSlot));
    await ack(1, last(slots[1] as FakeSlot));
    await p1;
    expect(c.lastIssuedCompleted).toBe(true);
    const p2 = c.trigger('checkpoint', false);
    await tick();
    c.decline({ slot: 1, checkpointId: last(slots[0] as FakeSlot).checkpointId, reason: 'no' });
    await expect(p2).rejects.toMatchObject({ code: 'TRIB_CHECKPOINT_DECLINED' });
    // Its barriers may still be in flight: the earlier completion does not count.
    expect(c.lastIssuedCompleted).toBe(false);
    const p3 = c.trigger('checkpoint', false);
    await tick();
    await ack(0, last(slots[0] as FakeSlot));
    await ack(1, last(slots[1] as FakeSlot));
    await p3;
    expect(c.lastIssuedCompleted).toBe(true);
  });

  it('after the final checkpoint (every slot finished) triggers nothing more: no periodic tick, a trigger is refused', async () => {
    const { c, slots, ack, last, triggered } = await setup({ intervalMs: 30 });
    await triggered(1); // the first periodic checkpoint, at start
    await ack(0, last(slots[0] as FakeSlot), true);
    await ack(1, last(slots[1] as FakeSlot), true);
    while ((slots[0] as FakeSlot).completed.length === 0) await new Promise((r) => setTimeout(r, 5));
    const n = (slots[0] as FakeSlot).triggers.length;
    await new Promise((r) => setTimeout(r, 200)); // more than six intervals
    expect((slots[0] as FakeSlot).triggers.length).toBe(n);
    await expect(c.trigger('checkpoint', false)).rejects.toMatchObject({
      code: 'TRIB_CHECKPOINT_FAILED',
      message: 'no checkpoint: the job has ended',
    });
    c.stop();
  });

  it('runs one checkpoint at a time; a savepoint waits for the pending checkpoint', async () => {
    const { c, slots, ack, last, tick } = await setup();
    const p1 = c.trigger('checkpoint', false);
    const p2 = c.trigger('savepoint', false);
    await tick();
    expect(slots[0]?.triggers.length).toBe(1);
    const t1 = last(slots[0] as FakeSlot);
    await ack(0, t1);
    await ack(1, t1);
    await p1;
    await tick();
    expect(slots[0]?.triggers.length).toBe(2);
    const t2 = last(slots[0] as FakeSlot);
    expect(t2.kind).toBe('savepoint');
    expect(t2.checkpointId).toBeGreaterThan(t1.checkpointId);
    expect(t2.dir).toContain(join('savepoints', `sp-${t2.checkpointId}`));
    await ack(0, t2);
    await ack(1, t2);
    await p2;
    // A savepoint that does not stop the job never makes sinks commit.
    expect(slots[0]?.completed).toEqual([t1.checkpointId]);
  });

  it('retains the newest N completed checkpoints; ids continue above every id on disk after a restart', async () => {
    const { c, slots, ack, last, stateDir, triggered } = await setup({ retained: 2 });
    for (let i = 0; i < 4; i++) {
      const p = c.trigger('checkpoint', false);
      await triggered(i + 1);
      await ack(0, last(slots[0] as FakeSlot));
      await ack(1, last(slots[1] as FakeSlot));
      await p;
    }
    await c.pruned(); // retention runs in the background after each completion
    expect((await readdir(join(stateDir, 'checkpoints'))).sort()).toEqual(['chk-3', 'chk-4']);
    const c2 = new CheckpointCoordinator({ stateDir, slots, maxParallelism: 128, graphHash: 'g' });
    void c2.trigger('checkpoint', false).catch(() => undefined);
    await triggered(5);
    expect(last(slots[0] as FakeSlot).checkpointId).toBe(5);
    c2.stop();
  });

  it('aborts a checkpoint whose acks reference a file retention removed, asking the slots for whole snapshots', async () => {
    const { c, slots, ack, last, triggered } = await setup({ retained: 1 });
    for (let i = 0; i < 2; i++) {
      const p = c.trigger('checkpoint', false);
      await triggered(i + 1);
      await ack(0, last(slots[0] as FakeSlot));
      await ack(1, last(slots[1] as FakeSlot));
      await p;
    }
    await c.pruned(); // chk-1 is gone with its files
    const p3 = c.trigger('checkpoint', false);
    await triggered(3);
    const t3 = last(slots[0] as FakeSlot);
    await ack(0, t3);
    const f = await CheckpointStorage.writeStateFile(t3.dir, 'w.slot-1.kdelta', new Uint8Array([1]));
    c.acknowledge({
      slot: 1,
      checkpointId: t3.checkpointId,
      operators: {
        w: {
          file: 'w.slot-1.kstate',
          from: 'chk-1',
          size: 4,
          sha256: f.sha256,
          keyGroupRange: { start: 64, end: 127 },
          deltas: [{ ...f, keyGroupRange: { start: 64, end: 127 } }],
        },
      },
      sources: { src: { off: 1 } },
      sinks: { out: [{ txn: 't1' }] },
      stateSize: 5,
      alignmentMs: 1,
    });
    await expect(p3).rejects.toThrow(/references chk-1\/w\.slot-1\.kstate, which retention removed/);
    expect(slots[0]?.aborted).toEqual([t3.checkpointId]);
    expect(slots[0]?.rewrites).toEqual([true]);
  });

  it('keeps every checkpoint when the retention is Retain (keepAll): nothing is pruned', async () => {
    const { c, slots, ack, last, stateDir, triggered } = await setup({ retained: 1, keepAll: true });
    for (let i = 0; i < 3; i++) {
      const p = c.trigger('checkpoint', false);
      await triggered(i + 1);
      await ack(0, last(slots[0] as FakeSlot));
      await ack(1, last(slots[1] as FakeSlot));
      await p;
    }
    await c.pruned();
    expect((await readdir(join(stateDir, 'checkpoints'))).sort()).toEqual(['chk-1', 'chk-2', 'chk-3']);
    c.stop();
  });

  it('never repeats an id across restarts, also when the newest ids left no folder (aborted, disposed)', async () => {
    const { c, slots, ack, last, tick, stateDir } = await setup({ retained: 2, timeoutMs: 200 });
    const p1 = c.trigger('checkpoint', false);
    await tick();
    await ack(0, last(slots[0] as FakeSlot));
    await ack(1, last(slots[1] as FakeSlot));
    await p1;
    // Checkpoint 2 times out: aborted, its folder discarded.
    await expect(c.trigger('checkpoint', false)).rejects.toMatchObject({ code: 'TRIB_CHECKPOINT_TIMEOUT' });
    expect(last(slots[0] as FakeSlot).checkpointId).toBe(2);
    await expect.poll(async () => (await readdir(join(stateDir, 'checkpoints'))).sort()).toEqual(['chk-1']);
    c.stop();
    const c2 = new CheckpointCoordinator({ stateDir, slots, maxParallelism: 128, graphHash: 'g' });
    void c2.trigger('checkpoint', false).catch(() => undefined);
    await expect.poll(() => last(slots[0] as FakeSlot).checkpointId).toBe(3);
    c2.stop();
  });

  it('a trigger while the start reads the ids on disk waits for it: no id is issued twice', async () => {
    const stateDir = await tempDir();
    const slots = [new FakeSlot(0)];
    const c = new CheckpointCoordinator({ stateDir, slots, maxParallelism: 128, graphHash: 'g', timeoutMs: 5000 });
    // The job's run starts it while a request (the control API, a test) triggers at once.
    const starting = c.start();
    const ids: number[] = [];
    for (let n = 1; n <= 3; n++) {
      const p = c.trigger('checkpoint', false);
      await expect.poll(() => slots[0]?.triggers.length).toBe(n);
      const t = slots[0]?.triggers[n - 1] as TriggerCheckpoint;
      ids.push(t.checkpointId);
      c.acknowledge({
        slot: 0,
        checkpointId: t.checkpointId,
        operators: {},
        sources: {},
        sinks: {},
        stateSize: 0,
        alignmentMs: 0,
      });
      await p;
    }
    await starting;
    expect(ids).toEqual([1, 2, 3]);
    c.stop();
  });

  it('a corrupt checkpoint id mark stops the coordinator with an error naming it', async () => {
    const stateDir = await tempDir();
    await writeFile(join(stateDir, '_checkpoint-id'), 'garbage');
    const c = new CheckpointCoordinator({ stateDir, slots: [new FakeSlot(0)], maxParallelism: 128, graphHash: 'g' });
    await expect(c.start()).rejects.toMatchObject({
      code: 'TRIB_CHECKPOINT_FAILED',
      message: expect.stringContaining(join(stateDir, '_checkpoint-id')),
    });
  });

  it('state files without metadata (killed before the commit point) are not a checkpoint', async () => {
    const { c, slots, ack, last, stateDir, triggered } = await setup();
    const p = c.trigger('checkpoint', false);
    await triggered(1);
    await ack(0, last(slots[0] as FakeSlot));
    await ack(1, last(slots[1] as FakeSlot));
    const first = await p;
    void c.trigger('checkpoint', false).catch(() => undefined);
    await triggered(2);
    const t = last(slots[0] as FakeSlot);
    await ack(0, t); // slot 0's files are on disk, slot 1 never acks: "killed" here
    c.stop('killed');
    await CheckpointStorage.writeStateFile(t.dir, 'w.slot-1.kstate', new Uint8Array([9])); // even with every file present
    expect(await latestCheckpointPath(stateDir)).toBe(first.path);
    await expect(readMetadata(t.dir)).rejects.toMatchObject({ code: 'TRIB_RESTORE_METADATA_MISSING' });
  });

  it('savepoint requests are idempotent by requestId and report their state', async () => {
    const { c, slots, ack, last, tick } = await setup();
    const s1 = c.requestSavepoint({ stop: false, requestId: 'r1' });
    const s2 = c.requestSavepoint({ stop: false, requestId: 'r1' });
    expect(s2.id).toBe(s1.id);
    expect(c.savepointStatus(s1.id)?.state).toBe('IN_PROGRESS');
    await tick();
    await ack(0, last(slots[0] as FakeSlot));
    await ack(1, last(slots[1] as FakeSlot));
    await tick();
    await tick();
    const st = c.savepointStatus(s1.id);
    expect(st?.state).toBe('COMPLETED');
    expect(st?.path).toContain('sp-');
  });
});
