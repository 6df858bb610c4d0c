// Record origins in DATA frames (origin-codec.ts, batch flag bit 1): every origin of a batch
// comes back with its record, bytes exact (null key and value, binary and null header values,
// offsets beyond a double's integers), and renders in a dead letter as the original does; a
// batch without origins is the format from before, byte for byte.
import { describe, expect, it } from 'vitest';
import type { Batch } from '../core/batch.ts';
import type { ChannelElement } from '../core/channel.ts';
import type { OriginHeader, OriginSource, RecordOrigin } from '../core/origin.ts';
import { deadLetterOrigin } from '../operators/dead-letter-origin.ts';
import { FrameDecoder, dataFrame, decodeData } from './frame-codec.ts';

/** A source's own form of headers (not a list): the codec must go through headerList. */
const kafkaLike = (source: string, topic: string): OriginSource => ({
  source,
  topic,
  headerList: (h) => Object.entries(h as Record<string, Buffer | null>).map(([key, value]) => ({ key, value })),
});
const clicks = kafkaLike('clicks', 'clicks-topic');
const views = kafkaLike('views', 'views-ä');

const origins: (RecordOrigin | undefined)[] = [
  {
    from: clicks,
    partition: 3,
    offset: 9_223_372_036_854_775_807n, // the largest Kafka offset
    key: Buffer.from('user-1'),
    value: Buffer.from([0xff, 0x00, 0x80]),
    headers: { trace: Buffer.from([0x00, 0xde, 0xad]), empty: Buffer.alloc(0), gone: null },
  },
  undefined,
  { from: clicks, partition: 0, offset: 9_007_199_254_740_993n, key: null, value: null, headers: {} },
  { from: views, partition: 2_000_000, offset: 0n, key: Buffer.alloc(0), value: Buffer.from('{"a":1}'), headers: {} },
];

function batch(keyed: boolean, withOrigins: boolean): Batch {
  const b: Batch = {
    recs: [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }],
    ts: [1, 2, 3, 4],
    keys: keyed ? ['k1', 'k2', 'k3', 'k4'] : [],
    kgs: keyed ? [1, 2, 3, 4] : [],
    n: 4,
  };
  if (withOrigins) b.origins = [...origins];
  return b;
}

const decode = (els: ChannelElement[]) => decodeData(new FrameDecoder().push(dataFrame(5, els))[0]!.body).elements;
const batchOf = (el: ChannelElement | undefined): Batch => (el?.kind === 'batch' ? el.batch : ({} as Batch));

describe('origins in data frames', () => {
  it.each([true, false])('round-trip with their records (keyed: %s), each rendering as the original', (keyed) => {
    const [el, end] = decode([{ kind: 'batch', batch: batch(keyed, true) }, { kind: 'end' }]);
    expect(end).toEqual({ kind: 'end' });
    const b = batchOf(el);
    expect(b.recs).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
    expect(b.keys).toEqual(keyed ? ['k1', 'k2', 'k3', 'k4'] : []);
    const got = b.origins ?? [];
    expect(got).toHaveLength(4);
    expect(got[1]).toBeUndefined();
    for (const i of [0, 2, 3]) {
      const want = origins[i] as RecordOrigin;
      const o = got[i] as RecordOrigin;
      expect([o.from.source, o.from.topic, o.partition, o.offset]).toEqual([
        want.from.source,
        want.from.topic,
        want.partition,
        want.offset,
      ]);
      expect(o.key === null ? null : Buffer.from(o.key).toString('hex')).toBe(
        want.key === null ? null : Buffer.from(want.key).toString('hex'),
      );
      expect(o.value === null ? null : Buffer.from(o.value).toString('hex')).toBe(
        want.value === null ? null : Buffer.from(want.value).toString('hex'),
      );
      const hex = (hs: readonly OriginHeader[]) =>
        hs.map((h) => [h.key, h.value && Buffer.from(h.value).toString('hex')]);
      expect(hex(o.from.headerList(o.headers))).toEqual(hex(want.from.headerList(want.headers)));
      expect(deadLetterOrigin(o)).toEqual(deadLetterOrigin(want));
    }
    expect(got[0]?.from).toBe(got[2]?.from); // one OriginSource per (source, topic)
    expect(got[3]?.from).not.toBe(got[0]?.from);
    expect(got[0]?.from).toBe(batchOf(decode([{ kind: 'batch', batch: batch(keyed, true) }])[0]).origins?.[0]?.from);
  });

  it('copies the bytes out of the frame', () => {
    const body = new FrameDecoder().push(dataFrame(0, [{ kind: 'batch', batch: batch(false, true) }]))[0]!.body;
    const o = batchOf(decodeData(body).elements[0]).origins?.[0] as RecordOrigin;
    body.fill(0);
    expect(Buffer.from(o.key as Uint8Array).toString()).toBe('user-1');
  });

  it('a batch without origins is the frame of before: flags 0 or 1, no bytes after the records', () => {
    const b = batch(false, false);
    const json = Buffer.from(JSON.stringify(b.recs));
    const ts = Buffer.from(new Float64Array(b.ts).buffer);
    const el = Buffer.concat([Buffer.from([0, 0, 0, 0, 4, 0]), ts, u32(json.length), json]);
    const body = Buffer.concat([Buffer.from([0, 7, 0, 1]), el]);
    const frame = Buffer.concat([u32(body.length + 1), Buffer.from([4]), body]);
    expect(dataFrame(7, [{ kind: 'batch', batch: b }]).equals(frame)).toBe(true);
    const decoded = batchOf(decodeData(body).elements[0]);
    expect(decoded.origins).toBeUndefined();
    expect(decoded.recs).toEqual(b.recs);
  });

  it('refuses unknown batch flags and truncated origins (TRIB_NET_PROTOCOL)', () => {
    const body = new FrameDecoder().push(dataFrame(0, [{ kind: 'batch', batch: batch(true, true) }]))[0]!.body;
    expect(() => decodeData(body.subarray(0, body.length - 1))).toThrow(
      expect.objectContaining({ code: 'TRIB_NET_PROTOCOL' }),
    );
    const flagged = Buffer.from(body);
    flagged[4 + 1 + 4] = 4; // channel, count, tag, n, then flags
    expect(() => decodeData(flagged)).toThrow(expect.objectContaining({ code: 'TRIB_NET_PROTOCOL' }));
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
