// Channels added while running (a slot joins a live rescale), on real exchanges, channels, gate
// tasks, chains and a slot checkpointer: a hash exchange gains a channel that no key group is
// routed to until a reassign, whose first elements are the producer's watermark and idle status;
// a gate gains an input that counts toward barriers from the next one on, holds the watermark
// until its producer's first watermark (never lowering it) and must end for the task to end.
import { describe, expect, it } from 'vitest';
import { BarrierAligner } from '../checkpoint/barrier-aligner.ts';
import { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';
import { newBatch, type Batch } from '../core/batch.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { fieldsKeySelector } from '../operators/key-selector.ts';
import type { Output } from '../operators/types.ts';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { addOutputChannel } from './join-channel.ts';
import { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import type { ChannelElement } from '../core/channel.ts';
import { LocalChannel } from '../exec/channel.ts';
import { HashExchange } from '../exec/exchange.ts';
import { GateTask } from '../exec/gate-task.ts';

const MAXP = 8;

const barrier = (id: number): CheckpointBarrier => ({ id, timestamp: 0, kind: 'checkpoint' });

/** What a head operator saw, in order: `rec <k>`, `wm <n>`, `idle <b>`, `end`. */
function recorder(seen: string[] = []): { seen: string[]; head: Output } {
  return {
    seen,
    head: {
      push: (b) => {
        for (let i = 0; i < b.n; i++) seen.push(`rec ${String((b.recs[i] as { k: string }).k)}`);
      },
      watermark: (wm) => seen.push(`wm ${wm}`),
      idle: (i) => seen.push(`idle ${i}`),
      end: () => seen.push('end'),
    },
  };
}

function recs(...ks: string[]): Batch {
  const b = newBatch();
  for (const k of ks) {
    b.recs[b.n] = { k };
    b.ts[b.n] = 0;
    b.keys[b.n] = k;
    b.kgs[b.n] = 0;
    b.n++;
  }
  return b;
}

const drain = (ch: LocalChannel): ChannelElement[] => {
  const out: ChannelElement[] = [];
  for (let el = ch.poll(); el; el = ch.poll()) out.push(el);
  return out;
};

/** Records per element: `kgs [..]` for a batch, else the element's kind and value. */
const shape = (els: ChannelElement[]): string[] =>
  els.map((el) => {
    if (el.kind === 'batch') return (el.batch.recs.slice(0, el.batch.n) as { k: string }[]).map((r) => r.k).join(',');
    if (el.kind === 'watermark') return `wm ${el.wm}`;
    if (el.kind === 'idle') return `idle ${el.idle}`;
    if (el.kind === 'barrier') return `barrier ${el.barrier.id}`;
    return el.kind;
  });

const fail = (e: unknown): never => {
  throw e;
};

/** A real chain registered with a real slot checkpointer (no trigger: snapshots are only collected). */
function chain(): ChainCheckpoint {
  const cp = new SlotCheckpointer({
    slot: 0,
    post: (cb) => cb(),
    coordinator: { acknowledge: () => {}, decline: () => {} },
    logger: silentLogger(),
    onComplete: () => {},
    onAborted: () => {},
  });
  return new ChainCheckpoint(cp);
}

function steps(...gates: GateTask[]): void {
  for (let i = 0; i < 20; i++) for (const g of gates) g.step();
}

describe('HashExchange.addChannel', () => {
  it('routes nothing to the new slot until a reassign, then the moved key groups in order, the rest unchanged', () => {
    const chans = [new LocalChannel(64), new LocalChannel(64)];
    const ex = new HashExchange(fieldsKeySelector(['k']), chans, MAXP, fail);
    // Two keys per key group, `g<kg>.<n>`; at parallelism 2, key groups 0..3 are slot 0's.
    const keys = new Map<number, string[]>();
    for (let i = 0; [...keys.values()].filter((v) => v.length === 2).length < MAXP; i++) {
      const kg = keyGroupOf(canonicalKey([`k${i}`]), MAXP);
      const v = keys.get(kg) ?? [];
      if (v.length < 2) v.push(`k${i}`);
      keys.set(kg, v);
    }
    let seq = 0;
    /** A batch with one record per key group and key, `key#seq` in `v`, in key-group order. */
    const round = (): Batch => {
      const b = newBatch();
      for (let kg = 0; kg < MAXP; kg++)
        for (const k of keys.get(kg) as string[]) {
          b.recs[b.n] = { k, v: `${k}#${seq++}` };
          b.ts[b.n++] = 0;
        }
      return b;
    };
    const kgsOn = (els: ChannelElement[]): number[] =>
      els.flatMap((el) => (el.kind === 'batch' ? el.batch.kgs.slice(0, el.batch.n) : []));
    const valuesOn = (els: ChannelElement[]): string[] =>
      els.flatMap((el) =>
        el.kind === 'batch' ? (el.batch.recs.slice(0, el.batch.n) as { v: string }[]).map((r) => r.v) : [],
      );
    ex.push(round());
    ex.watermark(50);
    const added = new LocalChannel(64);
    ex.addChannel(2, added);
    ex.push(round());
    expect(new Set(kgsOn(drain(chans[0] as LocalChannel)))).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set(kgsOn(drain(chans[1] as LocalChannel)))).toEqual(new Set([4, 5, 6, 7]));
    // Not routed to yet: only the producer's watermark is on it.
    expect(shape(drain(added))).toEqual(['wm 50']);

    ex.reassign([5, 6], 2);
    const sent: string[] = [];
    for (let r = 0; r < 3; r++) {
      const b = round();
      for (let i = 0; i < b.n; i++) {
        const rec = b.recs[i] as { k: string; v: string };
        const kg = keyGroupOf(canonicalKey([rec.k]), MAXP);
        if (kg === 5 || kg === 6) sent.push(rec.v);
      }
      ex.push(b);
    }
    ex.watermark(60);
    const onAdded = drain(added);
    expect(valuesOn(onAdded)).toEqual(sent); // every record of 5 and 6, in the order pushed
    expect(shape(onAdded).at(-1)).toBe('wm 60');
    expect(new Set(kgsOn(drain(chans[0] as LocalChannel)))).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set(kgsOn(drain(chans[1] as LocalChannel)))).toEqual(new Set([4, 7]));
    expect(ex.slotOf(6)).toBe(2);

    ex.end();
    expect(shape(drain(added))).toEqual(['end']);
    expect(() => ex.addChannel(4, new LocalChannel(4))).toThrow(expect.objectContaining({ code: 'TRIB_INVARIANT' }));
  });

  it('starts a new channel with the current watermark and idle status, and end once ended', () => {
    const ex = new HashExchange(fieldsKeySelector(['k']), [new LocalChannel(8)], MAXP, fail);
    const first = new LocalChannel(8);
    ex.addChannel(1, first);
    expect(drain(first)).toEqual([]); // nothing spoken yet: the consumer holds at what it has
    ex.watermark(70);
    ex.idle(true);
    const second = new LocalChannel(8);
    ex.addChannel(2, second);
    expect(shape(drain(second))).toEqual(['wm 70', 'idle true']);
    ex.watermark(80); // a watermark makes an idle output active again, at the consumer too
    const third = new LocalChannel(8);
    ex.addChannel(3, third);
    expect(shape(drain(third))).toEqual(['wm 80']);
    ex.end();
    const fourth = new LocalChannel(8);
    ex.addChannel(4, fourth);
    expect(shape(drain(fourth))).toEqual(['wm 80', 'end']);
  });

  it('a producer task forwards barriers on the added channel and stops while it is full', () => {
    const input = new LocalChannel(8);
    const outs = [new LocalChannel(8), new LocalChannel(8)];
    const ex = new HashExchange(fieldsKeySelector(['k']), outs, MAXP, fail);
    const c = chain();
    c.channels.push(...outs);
    const task = new GateTask('task:producer', [{ channel: input, input: 0 }], ex, [...outs], c);
    c.attach(task);
    input.send({ kind: 'barrier', barrier: barrier(1) });
    steps(task);
    const added = new LocalChannel(1);
    addOutputChannel({ exchange: ex, slot: 2, channel: added, chain: c, task });
    input.send({ kind: 'barrier', barrier: barrier(2) });
    steps(task);
    expect(shape(drain(added))).toEqual(['barrier 2']); // barrier 1 went out before it was added
    expect(shape(drain(outs[0] as LocalChannel))).toEqual(['barrier 1', 'barrier 2']);

    // Full (capacity 1): the task takes no more input until the new consumer reads.
    ex.reassign([...Array(MAXP).keys()], 2);
    input.send({ kind: 'batch', batch: recs('a') });
    input.send({ kind: 'batch', batch: recs('b') });
    steps(task);
    expect(added.writable).toBe(false);
    expect(task.step()).toBe(false);
    expect(shape(drain(added))).toEqual(['a']);
    steps(task);
    expect(shape(drain(added))).toEqual(['b']);
  });
});

describe('GateTask.addInput', () => {
  it('a barrier aligning when the input is added completes without it; the next one waits for it', () => {
    const [a, b] = [new LocalChannel(16), new LocalChannel(16)];
    const seen: string[] = [];
    const { head } = recorder(seen);
    const c = chain();
    const downstream = new LocalChannel(16);
    downstream.connect(
      () => seen.push('forwarded'),
      () => {},
    );
    c.channels.push(downstream);
    const gate = new GateTask(
      'task:keyed',
      [
        { channel: a, input: 0 },
        { channel: b, input: 0 },
      ],
      head,
      [],
      c,
    );
    c.attach(gate);
    a.send({ kind: 'batch', batch: recs('a1') });
    a.send({ kind: 'barrier', barrier: barrier(1) });
    a.send({ kind: 'batch', batch: recs('a2') });
    b.send({ kind: 'batch', batch: recs('b1') });
    steps(gate);
    expect(seen).toEqual(['rec a1', 'rec b1']); // aligning 1: a is blocked after its barrier

    const added = new LocalChannel(16);
    expect(gate.addInput(added, 0)).toBe(2);
    // Sent after barrier 1 by its producer: it must not reach the head before checkpoint 1's snapshot.
    added.send({ kind: 'batch', batch: recs('c1') });
    steps(gate);
    expect(seen).toEqual(['rec a1', 'rec b1']);
    b.send({ kind: 'barrier', barrier: barrier(1) });
    steps(gate);
    expect(seen.slice(0, 3)).toEqual(['rec a1', 'rec b1', 'forwarded']);
    expect(new Set(seen.slice(3))).toEqual(new Set(['rec a2', 'rec c1']));

    seen.length = 0;
    a.send({ kind: 'barrier', barrier: barrier(2) });
    b.send({ kind: 'barrier', barrier: barrier(2) });
    steps(gate);
    expect(seen).toEqual([]); // the added input has not delivered barrier 2
    added.send({ kind: 'batch', batch: recs('c2') });
    added.send({ kind: 'barrier', barrier: barrier(2) });
    added.send({ kind: 'batch', batch: recs('c3') });
    steps(gate);
    expect(seen).toEqual(['rec c2', 'forwarded', 'rec c3']);
    expect(shape(drain(downstream))).toEqual(['barrier 1', 'barrier 2']);
  });

  it('holds the watermark at what it was until the producer speaks, never lowers it, then takes the minimum', () => {
    // Two producers' exchanges feed slot 0's gate; a third producer joins with its channel to slot 0.
    const toSlot0 = [new LocalChannel(16), new LocalChannel(16)];
    const producers = toSlot0.map((ch) => new HashExchange(fieldsKeySelector(['k']), [ch], MAXP, fail));
    const { seen, head } = recorder();
    const gate = new GateTask(
      'task:keyed',
      toSlot0.map((channel) => ({ channel, input: 0 })),
      head,
      [],
    );
    for (const p of producers) p.watermark(100);
    steps(gate);
    expect(gate.watermark).toBe(100);

    const joined = new LocalChannel(16);
    const joining = new HashExchange(fieldsKeySelector(['k']), [joined], MAXP, fail);
    gate.addInput(joined, 0);
    for (const p of producers) p.watermark(200);
    steps(gate);
    expect(gate.watermark).toBe(100); // held, not −∞ and not past what the joining producer allows
    joining.watermark(50);
    steps(gate);
    expect(gate.watermark).toBe(100); // never backwards
    joining.watermark(150);
    steps(gate);
    expect(gate.watermark).toBe(150);
    joining.watermark(300);
    steps(gate);
    expect(gate.watermark).toBe(200);
    expect(seen.filter((s) => s.startsWith('wm'))).toEqual(['wm 100', 'wm 150', 'wm 200']);
  });

  it('a new consumer of channels added to running producers gets their watermark and idle status at once', () => {
    // Producer 0 is at 100, producer 1 went idle at 80: neither emits anything after the join.
    const ex0 = new HashExchange(fieldsKeySelector(['k']), [new LocalChannel(16)], MAXP, fail);
    const ex1 = new HashExchange(fieldsKeySelector(['k']), [new LocalChannel(16)], MAXP, fail);
    ex0.watermark(100);
    ex1.watermark(80);
    ex1.idle(true);
    const from0 = new LocalChannel(16);
    const from1 = new LocalChannel(16);
    ex0.addChannel(1, from0);
    ex1.addChannel(1, from1);
    const { head } = recorder();
    const gate = new GateTask(
      'task:keyed',
      [
        { channel: from0, input: 0 },
        { channel: from1, input: 0 },
      ],
      head,
      [],
    );
    expect(gate.watermark).toBe(MIN_WATERMARK);
    steps(gate);
    expect(gate.watermark).toBe(100); // the idle producer leaves the minimum
  });

  it('the task ends only once the added input ended too', () => {
    const [a, b] = [new LocalChannel(16), new LocalChannel(16)];
    const { seen, head } = recorder();
    const c = chain();
    const gate = new GateTask(
      'task:keyed',
      [
        { channel: a, input: 0 },
        { channel: b, input: 0 },
      ],
      head,
      [],
      c,
    );
    c.attach(gate);
    const added = new LocalChannel(16);
    gate.addInput(added, 0);
    a.send({ kind: 'end' });
    b.send({ kind: 'end' });
    steps(gate);
    expect(gate.done).toBe(false);
    expect(seen).not.toContain('end');
    added.send({ kind: 'batch', batch: recs('c1') });
    added.send({ kind: 'end' });
    steps(gate);
    expect(gate.done).toBe(true);
    expect(seen.slice(-2)).toEqual(['rec c1', 'end']);
    expect(() => gate.addInput(new LocalChannel(4), 0)).toThrow(expect.objectContaining({ code: 'TRIB_INVARIANT' }));
  });
});

describe('BarrierAligner.addInput', () => {
  it('an input added while a barrier aligns waits blocked with it, and is needed from the next barrier on', () => {
    const log: string[] = [];
    const al = new BarrierAligner(2, {
      aligned: (x) => log.push(`aligned ${x.id}`),
      aborted: (id, r) => log.push(`aborted ${id}: ${r}`),
    });
    al.onBarrier(0, barrier(1));
    expect(al.addInput()).toBe(2);
    expect(al.isBlocked(2)).toBe(true); // what it carries comes after barrier 1
    // A later barrier subsumes 1: the added input is released with the others and counts for 2.
    al.onBarrier(1, barrier(2));
    expect(log).toEqual(['aborted 1: subsumed by checkpoint 2']);
    expect(al.isBlocked(2)).toBe(false);
    al.onBarrier(0, barrier(2));
    expect(log).toHaveLength(1);
    al.onBarrier(2, barrier(2));
    expect(log.at(-1)).toBe('aligned 2');
    // Added with nothing aligning: not blocked, needed by the next barrier; its end releases it.
    expect(al.addInput()).toBe(3);
    expect(al.isBlocked(3)).toBe(false);
    for (const ch of [0, 1, 2]) al.onBarrier(ch, barrier(3));
    expect(log.at(-1)).toBe('aligned 2');
    al.onEndOfInput(3);
    expect(log.at(-1)).toBe('aligned 3');
  });
});
