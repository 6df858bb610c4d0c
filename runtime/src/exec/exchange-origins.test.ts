// Exchanges that pass origins on (exchange.ts, `carryOrigins`; graph/origin-exchanges.ts decides
// where): a hash exchange routes each record's origin with it to its slot, in memory and across
// a data-plane frame, in order per key group; one built without it sends none, as before.
import { describe, expect, it } from 'vitest';
import type { Batch } from '../core/batch.ts';
import type { OriginSource, RecordOrigin } from '../core/origin.ts';
import { FrameDecoder, dataFrame, decodeData } from '../net/frame-codec.ts';
import { fieldsKeySelector } from '../operators/key-selector.ts';
import { batchOf } from '../testing/harness.ts';
import { LocalChannel } from './channel.ts';
import { ForwardExchange, HashExchange } from './exchange.ts';

const from: OriginSource = { source: 'in', topic: 'in-topic', headerList: () => [] };
const origin = (i: number): RecordOrigin => ({
  from,
  partition: i % 3,
  offset: BigInt(1000 + i),
  key: Buffer.from(`key-${i}`),
  value: Buffer.from(`value-${i}`),
});

/** 40 records of 5 users, each with its own origin. */
function input(): { b: Batch; origins: RecordOrigin[] } {
  const b = batchOf(
    Array.from({ length: 40 }, (_, i) => [{ user: `u${i % 5}`, i }, i] as [Record<string, unknown>, number]),
  );
  const origins = Array.from({ length: 40 }, (_, i) => origin(i));
  b.origins = [...origins];
  return { b, origins };
}

function drain(ch: LocalChannel): Batch[] {
  const out: Batch[] = [];
  for (let el = ch.poll(); el !== undefined; el = ch.poll()) if (el.kind === 'batch') out.push(el.batch);
  return out;
}

/** What a remote consumer gets: the batch through a DATA frame. */
function overTheWire(b: Batch): Batch {
  const el = decodeData(new FrameDecoder().push(dataFrame(0, [{ kind: 'batch', batch: b }]))[0]!.body).elements[0];
  return el?.kind === 'batch' ? el.batch : ({} as Batch);
}

describe('a hash exchange that carries origins', () => {
  it.each([
    ['in memory', (b: Batch) => b, true],
    ['across a data-plane frame', overTheWire, false],
  ])('%s: every record reaches its slot with its own origin, in order per key group', (_how, cross, same) => {
    const channels = [new LocalChannel(16), new LocalChannel(16), new LocalChannel(16)];
    const ex = new HashExchange(
      fieldsKeySelector(['user']),
      channels,
      128,
      (e) => {
        throw e;
      },
      true,
    );
    const { b, origins } = input();
    ex.push(b);
    const perGroup = new Map<number, number[]>();
    let seen = 0;
    for (const ch of channels)
      for (const got of drain(ch).map(cross)) {
        expect(got.origins).toHaveLength(got.n);
        for (let j = 0; j < got.n; j++) {
          const i = (got.recs[j] as { i: number }).i;
          const o = got.origins?.[j] as RecordOrigin;
          expect([o.offset, o.partition, Buffer.from(o.key as Uint8Array).toString()]).toEqual([
            origins[i]?.offset,
            origins[i]?.partition,
            `key-${i}`,
          ]);
          if (same) expect(o).toBe(origins[i]); // the reference, not a copy
          const kg = got.kgs[j] as number;
          perGroup.set(kg, [...(perGroup.get(kg) ?? []), i]);
          seen++;
        }
      }
    expect(seen).toBe(40);
    expect(perGroup.size).toBe(5);
    for (const is of perGroup.values()) expect(is).toEqual([...is].sort((x, y) => x - y));
  });

  it('passes none of a batch without origins', () => {
    const ch = new LocalChannel(16);
    const ex = new HashExchange(fieldsKeySelector(['user']), [ch], 128, () => {}, true);
    const { b } = input();
    b.origins = undefined;
    ex.push(b);
    expect(drain(ch).map((x) => x.origins)).toEqual([undefined]);
  });
});

describe('an exchange that does not carry them (the default: origins not needed behind it)', () => {
  it('sends records only, and its frames have no origins', () => {
    const channels = [new LocalChannel(16), new LocalChannel(16)];
    const ex = new HashExchange(fieldsKeySelector(['user']), channels, 128, () => {});
    ex.push(input().b);
    const sent = channels.flatMap(drain);
    expect(sent.reduce((n, x) => n + x.n, 0)).toBe(40);
    for (const x of sent) {
      expect(x.origins).toBeUndefined();
      expect(overTheWire(x).origins).toBeUndefined();
    }
    const fwd = new LocalChannel(16);
    new ForwardExchange(fwd).push(input().b);
    expect(drain(fwd).map((x) => x.origins)).toEqual([undefined]);
  });

  it('a forward exchange built to carry them copies them with the records', () => {
    const fwd = new LocalChannel(16);
    const { b, origins } = input();
    new ForwardExchange(fwd, true).push(b);
    const [got] = drain(fwd);
    expect(got?.origins).toEqual(origins);
    expect(got?.origins).not.toBe(b.origins); // a copy: the producer reuses its batch
  });
});
