import { describe, expect, it } from 'vitest';
import type { ChannelElement } from '../core/channel.ts';
import type { Rec } from '../core/record.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import {
  FRAME_CREDIT,
  FRAME_DATA,
  FrameDecoder,
  creditFrame,
  dataFrame,
  decodeCredit,
  decodeData,
} from './frame-codec.ts';

const keyed: ChannelElement = {
  kind: 'batch',
  batch: {
    recs: [
      { user: 'ä-1', n: 1, nested: { a: [1, null, 'x'] } },
      { user: 'b', n: 2.5 },
    ],
    ts: [1_700_000_000_123, -5],
    keys: ['["ä-1"]', '["b"]'],
    kgs: [17, 127],
    n: 2,
  },
};
const unkeyed: ChannelElement = { kind: 'batch', batch: { recs: [{ a: 1 }], ts: [42], keys: [], kgs: [], n: 1 } };

describe('frame codec', () => {
  it('round-trips batches (keyed and not) and every in-band element, including ±∞ and unknown kinds', () => {
    const els: ChannelElement[] = [
      keyed,
      { kind: 'watermark', wm: 1234 },
      { kind: 'watermark', wm: MIN_WATERMARK },
      { kind: 'watermark', wm: MAX_WATERMARK },
      unkeyed,
      { kind: 'idle', idle: true },
      // A kind the codec does not know (a checkpoint barrier added later) travels generically.
      { kind: 'barrier', checkpointId: 7, options: { savepoint: true, ts: Infinity } } as unknown as ChannelElement,
      { kind: 'end' },
    ];
    const frame = dataFrame(3, els);
    const [f] = new FrameDecoder().push(frame);
    expect(f?.type).toBe(FRAME_DATA);
    const { channel, elements } = decodeData(f!.body);
    expect(channel).toBe(3);
    expect(elements).toEqual(els);
  });

  it("keeps a typed format's integers (BigInt) apart from doubles of the same value, projected too", () => {
    const ints: ChannelElement = {
      kind: 'batch',
      batch: {
        recs: [
          { k: 4n, d: 4, big: -(2n ** 63n), nested: { l: [1n, 1.5] } },
          { k: 5, d: 5 },
        ],
        ts: [1, 2],
        keys: ['[4]', '[5]'],
        kgs: [3, 4],
        n: 2,
      },
    };
    const { elements } = decodeData(new FrameDecoder().push(dataFrame(1, [ints, unkeyed]))[0]!.body);
    expect(elements).toEqual([ints, unkeyed]);
    const [b] = decodeData(new FrameDecoder().push(dataFrame(1, [ints], ['k']))[0]!.body).elements;
    expect((b as { batch: { recs: Rec[] } }).batch.recs).toEqual([{ k: 4n }, { k: 5 }]);
  });

  it('batch views with spare capacity encode only their n records', () => {
    const el: ChannelElement = {
      kind: 'batch',
      batch: { recs: [{ a: 1 }, { a: 2 }, { a: 3 }], ts: [1, 2, 3], keys: ['1', '2', '3'], kgs: [1, 2, 3], n: 2 },
    };
    const { elements } = decodeData(new FrameDecoder().push(dataFrame(0, [el]))[0]!.body);
    expect(elements).toEqual([
      { kind: 'batch', batch: { recs: [{ a: 1 }, { a: 2 }], ts: [1, 2], keys: ['1', '2'], kgs: [1, 2], n: 2 } },
    ]);
  });

  it('a projection sends only the named fields of each record; a field a record lacks stays absent', () => {
    const { elements } = decodeData(new FrameDecoder().push(dataFrame(0, [keyed, unkeyed], ['n', 'nested']))[0]!.body);
    expect(elements).toEqual([
      { kind: 'batch', batch: { ...keyed.batch, recs: [{ n: 1, nested: { a: [1, null, 'x'] } }, { n: 2.5 }] } },
      { kind: 'batch', batch: { ...unkeyed.batch, recs: [{}] } },
    ]);
    // A record that is not an object (the TypeScript API's strings and numbers) crosses whole.
    const prims: ChannelElement = {
      kind: 'batch',
      batch: { recs: ['abc', 7, null] as unknown as Rec[], ts: [1, 2, 3], keys: ['1', '2', '3'], kgs: [1, 2, 3], n: 3 },
    };
    expect(decodeData(new FrameDecoder().push(dataFrame(0, [prims], ['length']))[0]!.body).elements).toEqual([prims]);
    // The records sent are copies: the producer's stay whole.
    expect(keyed.batch.recs[1]).toEqual({ user: 'b', n: 2.5 });
  });

  it('reassembles frames split at every byte and several frames per chunk', () => {
    const bytes = Buffer.concat([dataFrame(1, [keyed]), creditFrame(2, 9), dataFrame(0, [{ kind: 'end' }])]);
    for (const step of [1, 2, 3, 7, 64, bytes.length]) {
      const d = new FrameDecoder();
      const frames = [];
      for (let i = 0; i < bytes.length; i += step) frames.push(...d.push(bytes.subarray(i, i + step)));
      expect(frames.map((f) => f.type)).toEqual([FRAME_DATA, FRAME_CREDIT, FRAME_DATA]);
      expect(decodeCredit(frames[1]!.body)).toEqual({ channel: 2, credits: 9 });
      expect(decodeData(frames[2]!.body).elements).toEqual([{ kind: 'end' }]);
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('rejects corrupt frames with TRIB_NET_PROTOCOL', () => {
    const f = dataFrame(0, [keyed]);
    const body = new FrameDecoder().push(f)[0]!.body;
    expect(() => decodeData(body.subarray(0, body.length - 3))).toThrow(
      expect.objectContaining({ code: 'TRIB_NET_PROTOCOL' }),
    );
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0xffffffff, 0);
    expect(() => new FrameDecoder().push(huge)).toThrow(expect.objectContaining({ code: 'TRIB_NET_FRAME_TOO_LARGE' }));
  });
});
