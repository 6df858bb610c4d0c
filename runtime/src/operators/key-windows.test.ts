// A key's windows: a list sorted by start, newest first, held by its head; it snapshots to the
// array form (binary and JSON, oldest first) whatever order the windows came in, and restores
// to the same list.
import { describe, expect, it } from 'vitest';
import { BinaryReader } from '../state/binary-reader.ts';
import { BinaryWriter } from '../state/binary-writer.ts';
import { createAggregator } from './aggregators.ts';
import {
  keyWindowsSerializer,
  newWin,
  windowAt,
  windowCountOf,
  windowsOf,
  withoutWindow,
  withWindow,
  unlink,
  type KeyWindows,
  type Win,
} from './key-windows.ts';

const aggs = [
  createAggregator({ output: 'n', fn: 'count', expr: undefined }, undefined),
  createAggregator({ output: 'vs', fn: 'countDistinct', expr: 'v' }, undefined),
];
const ser = keyWindowsSerializer(aggs);
const win = (start: number, n: number): Win => newWin(start, start + 10, [n, new Set([n])], start < 0);

function binaryRoundTrip(kw: KeyWindows): KeyWindows {
  const w = new BinaryWriter(64);
  ser.write!(w, kw);
  const bytes = w.finish();
  const r = new BinaryReader(bytes);
  const back = ser.read!(r);
  expect(r.pos).toBe(bytes.length);
  return back;
}

describe('key windows', () => {
  it('keeps the windows sorted newest first whatever order they come in, and unlinks any in place', () => {
    const [a, b, c, d] = [win(0, 1), win(10, 2), win(20, 3), win(30, 4)];
    let kw: KeyWindows | undefined = withWindow(undefined, b);
    expect(kw).toBe(b);
    kw = withWindow(kw, d); // newer: the new head
    kw = withWindow(kw, a); // older than all: the tail
    kw = withWindow(kw, c); // between
    expect(kw).toBe(d);
    expect(windowsOf(kw).map((w) => w.start)).toEqual([30, 20, 10, 0]);
    expect(windowCountOf(kw)).toBe(4);
    expect(windowAt(kw, 10)).toBe(b);
    expect(windowAt(kw, 15)).toBeUndefined();
    expect(windowAt(kw, -10)).toBeUndefined();
    // The back links mirror the forward ones.
    expect([a.newer, b.newer, c.newer, d.newer]).toEqual([b, c, d, undefined]);
    unlink(b);
    expect(windowsOf(kw).map((w) => w.start)).toEqual([30, 20, 0]);
    expect([a.newer, c.older, b.newer, b.older]).toEqual([c, a, undefined, undefined]);
    kw = withoutWindow(kw!, d); // the head: the next one is the new head
    expect(kw).toBe(c);
    expect(c.newer).toBeUndefined();
    kw = withoutWindow(kw!, a);
    expect(kw).toBe(c);
    expect(withoutWindow(kw!, c)).toBeUndefined();
    expect(windowsOf(undefined)).toEqual([]);
  });

  it('snapshots either form as the array of windows and restores the compact form', () => {
    const one = win(-20, 3);
    const many = withWindow(withWindow(win(10, 2), win(20, 4)), win(0, 1));
    expect(ser.toJSON(one)).toEqual([[-20, -10, true, [3, [3]]]]);
    expect(ser.toJSON(many)).toEqual([
      [0, 10, false, [1, [1]]],
      [10, 20, false, [2, [2]]],
      [20, 30, false, [4, [4]]],
    ]);
    for (const kw of [one, many]) {
      const viaBinary = binaryRoundTrip(kw);
      const viaJson = ser.fromJSON(ser.toJSON(kw));
      for (const back of [viaBinary, viaJson]) {
        expect(windowsOf(back).map((w) => w.start)).toEqual(windowsOf(kw).map((w) => w.start));
        expect(ser.toJSON(back)).toEqual(ser.toJSON(kw));
        expect(windowAt(back, windowsOf(kw)[0]!.start)?.accs[1]).toBeInstanceOf(Set);
      }
    }
  });

  it('restores windows written in any order to the sorted list; two windows with one start are corrupt state', () => {
    const back = ser.fromJSON([
      [10, 20, false, [2, [2]]],
      [0, 10, true, [1, [1]]],
      [20, 30, false, [4, [4]]],
    ]);
    expect(windowsOf(back).map((w) => w.start)).toEqual([20, 10, 0]);
    expect(windowsOf(back).map((w) => w.newer?.start)).toEqual([undefined, 20, 10]);
    expect(() =>
      ser.fromJSON([
        [0, 10, false, [1, [1]]],
        [0, 10, false, [2, [2]]],
      ]),
    ).toThrow(expect.objectContaining({ code: 'TRIB_STATE_CORRUPT' }));
  });

  it('an empty window list in a snapshot is corrupt state, not a key without windows', () => {
    expect(() => ser.fromJSON([])).toThrow(expect.objectContaining({ code: 'TRIB_STATE_CORRUPT' }));
    const w = new BinaryWriter(8);
    w.u8(5); // TAG_ARRAY
    w.varuint(0);
    expect(() => ser.read!(new BinaryReader(w.finish()))).toThrow(
      expect.objectContaining({ code: 'TRIB_STATE_CORRUPT' }),
    );
  });
});
