// A key's windows: one window is stored as itself, two or more as a Map, and either form
// snapshots to the same array form (binary and JSON) and restores to the compact form.
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
  it('one window is the window itself; a second makes a Map; removing back to one collapses it', () => {
    const a = win(0, 1);
    let kw: KeyWindows | undefined = withWindow(undefined, a);
    expect(kw).toBe(a);
    kw = withWindow(kw, win(10, 2));
    expect(kw).toBeInstanceOf(Map);
    expect(windowCountOf(kw)).toBe(2);
    expect(windowAt(kw, 10)?.accs[0]).toBe(2);
    kw = withoutWindow(kw, 10);
    expect(kw).toBe(a);
    expect(withoutWindow(a, 99)).toBe(a);
    expect(withoutWindow(a, 0)).toBeUndefined();
    expect([...windowsOf(undefined)]).toEqual([]);
  });

  it('snapshots either form as the array of windows and restores the compact form', () => {
    const one = win(-20, 3);
    const many = withWindow(withWindow(win(0, 1), win(10, 2)), win(20, 4));
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
        expect(back instanceof Map).toBe(kw instanceof Map);
        expect(ser.toJSON(back)).toEqual(ser.toJSON(kw));
        expect(windowAt(back, [...windowsOf(kw)][0]!.start)?.accs[1]).toBeInstanceOf(Set);
      }
    }
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
