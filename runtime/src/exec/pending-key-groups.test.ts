// The routing flip and the pending-key-group gate of a live rescale, on real exchanges, channels
// and gate tasks: records of key groups reassigned at a barrier reach the new owner only after
// it; there, while their state is not installed, they wait in arrival order, records of other
// key groups pass, and nothing else (watermark, barrier, end) is taken; once installed, the held
// records go on in order, then the rest.
import { describe, expect, it } from 'vitest';
import { newBatch, type Batch } from '../core/batch.ts';
import type { Output } from '../operators/types.ts';
import { fieldsKeySelector } from '../operators/key-selector.ts';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import type { ChannelElement } from '../core/channel.ts';
import { LocalChannel } from './channel.ts';
import { HashExchange } from './exchange.ts';
import { GateTask } from './gate-task.ts';
import { PendingKeyGroups } from './pending-key-groups.ts';

const MAXP = 8;

/** What the head operator of a gate saw, in order: `rec <k>` and `wm <n>`. */
function recorder(): { seen: string[]; head: Output } {
  const seen: string[] = [];
  return {
    seen,
    head: {
      push: (b) => {
        for (let i = 0; i < b.n; i++) seen.push(`rec ${String((b.recs[i] as { k: string }).k)}`);
      },
      watermark: (wm) => seen.push(`wm ${wm}`),
      idle: () => {},
      end: () => seen.push('end'),
    },
  };
}

function batch(recs: { k: string; kg: number }[]): Batch {
  const b = newBatch();
  for (const r of recs) {
    b.recs[b.n] = { k: r.k };
    b.ts[b.n] = 0;
    b.keys[b.n] = r.k;
    b.kgs[b.n] = r.kg;
    b.n++;
  }
  return b;
}

const drain = (ch: LocalChannel): ChannelElement[] => {
  const out: ChannelElement[] = [];
  for (let el = ch.poll(); el; el = ch.poll()) out.push(el);
  return out;
};

describe('HashExchange.reassign', () => {
  it('sends a key group to its new owner from the flip on, and only then', () => {
    const chans = [new LocalChannel(64), new LocalChannel(64)];
    const ex = new HashExchange(fieldsKeySelector(['k']), chans, MAXP, (e) => {
      throw e;
    });
    // Keys of every key group; at parallelism 2, key groups 0..3 are slot 0's.
    const byKg = new Map<number, string>();
    for (let i = 0; byKg.size < MAXP; i++) byKg.set(keyGroupOf(canonicalKey([`k${i}`]), MAXP), `k${i}`);
    const all = (): Batch => {
      const b = newBatch();
      for (const k of byKg.values()) {
        b.recs[b.n] = { k };
        b.ts[b.n++] = 0;
      }
      return b;
    };
    const kgsOn = (ch: LocalChannel): number[] =>
      drain(ch).flatMap((el) => (el.kind === 'batch' ? el.batch.kgs.slice(0, el.batch.n) : []));
    ex.push(all());
    expect(kgsOn(chans[0] as LocalChannel).sort()).toEqual([0, 1, 2, 3]);
    expect(kgsOn(chans[1] as LocalChannel).sort()).toEqual([4, 5, 6, 7]);
    ex.reassign([2, 3], 1);
    ex.push(all());
    expect(kgsOn(chans[0] as LocalChannel).sort()).toEqual([0, 1]);
    expect(kgsOn(chans[1] as LocalChannel).sort()).toEqual([2, 3, 4, 5, 6, 7]);
    expect(ex.slotOf(3)).toBe(1);
    expect(() => ex.reassign([1], 2)).toThrow(expect.objectContaining({ code: 'TRIB_INVARIANT' }));
    expect(() => ex.reassign([MAXP], 0)).toThrow(expect.objectContaining({ code: 'TRIB_INVARIANT' }));
  });
});

describe('the pending-key-group gate', () => {
  it('holds records of pending key groups in order, passes the others, takes nothing else until installed', () => {
    const a = new LocalChannel(64);
    const b = new LocalChannel(64);
    const { seen, head } = recorder();
    const gate = new GateTask(
      'task:keyed',
      [
        { channel: a, input: 0 },
        { channel: b, input: 0 },
      ],
      head,
      [],
    );
    gate.holdKeyGroups([5, 6], MAXP);
    a.send({
      kind: 'batch',
      batch: batch([
        { k: 'a1', kg: 1 },
        { k: 'a5', kg: 5 },
        { k: 'a2', kg: 2 },
      ]),
    });
    b.send({ kind: 'batch', batch: batch([{ k: 'b6', kg: 6 }]) });
    a.send({ kind: 'watermark', wm: 100 });
    a.send({
      kind: 'batch',
      batch: batch([
        { k: 'a5b', kg: 5 },
        { k: 'a3', kg: 3 },
      ]),
    });
    b.send({ kind: 'watermark', wm: 100 });
    b.send({ kind: 'batch', batch: batch([{ k: 'b7', kg: 7 }]) });
    for (let i = 0; i < 5; i++) gate.step();
    // Nothing behind a watermark is taken: a3 and b7 wait behind their channels' watermarks.
    expect(seen).toEqual(['rec a1', 'rec a2']);
    gate.installed([5]);
    expect(seen).toEqual(['rec a1', 'rec a2']); // 6 still pending: 5 stays held too
    gate.installed([6]);
    expect(seen).toEqual(['rec a1', 'rec a2', 'rec a5', 'rec b6']);
    for (let i = 0; i < 5; i++) gate.step();
    // Then the rest, each channel in its order (the gate takes channels in turn).
    const rest = seen.slice(4);
    expect([...rest].sort()).toEqual(['rec a3', 'rec a5b', 'rec b7', 'wm 100']);
    expect(rest.indexOf('rec a5b')).toBeLessThan(rest.indexOf('rec a3'));
  });

  it('keeps the arrival order of held records across batches and inputs, copying them', () => {
    const p = new PendingKeyGroups(MAXP);
    p.add([1]);
    const first = batch([
      { k: 'x', kg: 1 },
      { k: 'y', kg: 2 },
      { k: 'z', kg: 1 },
    ]);
    const pass = p.split(0, first);
    expect(pass?.recs.slice(0, pass.n)).toEqual([{ k: 'y' }]);
    expect(p.split(1, batch([{ k: 'w', kg: 3 }]))).toMatchObject({ n: 1 });
    expect(p.split(1, batch([{ k: 'v', kg: 1 }]))).toBeUndefined();
    first.recs[0] = { k: 'reused' }; // the caller's batch is reused: held records were copied
    expect(p.heldRecords).toBe(3);
    const out = p.installed([1]);
    expect(out.map((h) => [h.input, h.batch.recs.slice(0, h.batch.n)])).toEqual([
      [0, [{ k: 'x' }, { k: 'z' }]],
      [1, [{ k: 'v' }]],
    ]);
    expect(p.active).toBe(false);
    const after = batch([{ k: 'u', kg: 1 }]);
    expect(p.split(0, after)).toBe(after);
  });

  it('keeps holding an installed key group while another still waits (it would pass its held records)', () => {
    const p = new PendingKeyGroups(MAXP);
    p.add([1, 2]);
    expect(p.split(0, batch([{ k: 'x', kg: 1 }]))).toBeUndefined();
    expect(p.installed([1])).toEqual([]);
    expect(p.active).toBe(true);
    expect(p.split(0, batch([{ k: 'y', kg: 1 }]))).toBeUndefined();
    expect(p.installed([2]).map((h) => h.batch.recs[0])).toEqual([{ k: 'x' }, { k: 'y' }]);
  });
});
