// The open windows of one key of a window aggregate, and their keyed-state serializer.
// Most keys hold one window at a time (tumbling windows; a session between gaps), so a key
// with one window stores the window itself and only a key with several gets a Map by start.
// A Map costs ~180 bytes even with one entry: at a million keys that is ~180 MB more for
// the GC to mark during a savepoint or a restore, and one more object per key to allocate.
// The snapshot form does not change: a key's windows are always an array (state-format.md).
//
// A window is also its own timer (window-timers.ts): every open window has exactly one
// pending timer — its end − 1 until it fires, then its cleanup time — so the window carries
// the timer's fields instead of a second object per key and window.
import { stateCorrupt, type BinaryReader } from '../state/binary-reader.ts';
import { TAG_ARRAY, TAG_FALSE, TAG_TRUE, type BinaryWriter } from '../state/binary-writer.ts';
import type { StateSerializer } from '../state/keyed-state.ts';
import type { Timer } from '../time/timer.ts';
import { accsFromJSON, accsToJSON, type Aggregator } from './aggregators.ts';

/**
 * An open window of one key. As a timer: `ts` is when it is due (set when it is queued), `kg`
 * and `key` its key, `ns` its start once queued, `deleted` set when it is dropped while queued.
 */
export interface Win extends Timer {
  start: number;
  end: number;
  accs: unknown[];
  fired: boolean;
  ns: number;
}

/** A window not yet queued as a timer (no key; due time NaN until it is). */
export function newWin(start: number, end: number, accs: unknown[], fired: boolean): Win {
  return { start, end, accs, fired, ts: Number.NaN, kg: -1, key: '', ns: start, deleted: false };
}

/** One window, or several by start. A Map always holds two or more (one collapses to the window). */
export type KeyWindows = Win | Map<number, Win>;

export function windowAt(kw: KeyWindows | undefined, start: number): Win | undefined {
  if (kw === undefined) return undefined;
  if (kw instanceof Map) return kw.get(start);
  return kw.start === start ? kw : undefined;
}

export function windowsOf(kw: KeyWindows | undefined): Iterable<Win> {
  if (kw === undefined) return [];
  return kw instanceof Map ? kw.values() : [kw];
}

export function windowCountOf(kw: KeyWindows): number {
  return kw instanceof Map ? kw.size : 1;
}

/** `kw` with `w` added; no window of `kw` may start where `w` does. A Map is changed in place. */
export function withWindow(kw: KeyWindows | undefined, w: Win): KeyWindows {
  if (kw === undefined) return w;
  if (kw instanceof Map) return kw.set(w.start, w);
  return new Map([
    [kw.start, kw],
    [w.start, w],
  ]);
}

/** `kw` without the window starting at `start`; undefined when none is left. A Map is changed in place. */
export function withoutWindow(kw: KeyWindows, start: number): KeyWindows | undefined {
  if (!(kw instanceof Map)) return kw.start === start ? undefined : kw;
  kw.delete(start);
  if (kw.size > 1) return kw;
  const rest = kw.values().next();
  return rest.done ? undefined : rest.value;
}

function fromList(list: Win[]): KeyWindows | undefined {
  if (list.length <= 1) return list[0];
  return new Map(list.map((w) => [w.start, w]));
}

/** JSON form `[[start, end, fired, accumulators], …]` per key; the binary paths write and read exactly its TVE. */
export function keyWindowsSerializer(aggs: readonly Aggregator[]): StateSerializer<KeyWindows> {
  const writeWin = (w: BinaryWriter, win: Win): void => {
    w.u8(TAG_ARRAY);
    w.varuint(4);
    w.number(win.start);
    w.number(win.end);
    w.u8(win.fired ? TAG_TRUE : TAG_FALSE);
    w.u8(TAG_ARRAY);
    w.varuint(aggs.length);
    for (let j = 0; j < aggs.length; j++) w.value((aggs[j] as Aggregator).toJSON(win.accs[j]));
  };
  const empty = (): never => stateCorrupt('a key holds an empty window list');
  // Accumulators are decoded straight into their array (what accsFromJSON gives, without the
  // intermediate JSON array): a restore reads a million of them.
  const readWin = (r: BinaryReader): Win => {
    if (r.arrayLength() !== 4) stateCorrupt('a window is not [start, end, fired, accumulators]');
    const start = r.number();
    const end = r.number();
    const fired = r.value();
    if (typeof fired !== 'boolean') stateCorrupt('window "fired" is not a boolean');
    const na = r.arrayLength();
    const accs = new Array<unknown>(aggs.length);
    for (let j = 0; j < na; j++) {
      const v = r.value();
      if (j < aggs.length) accs[j] = (aggs[j] as Aggregator).fromJSON(v);
    }
    for (let j = na; j < aggs.length; j++) accs[j] = (aggs[j] as Aggregator).fromJSON(undefined);
    return newWin(start, end, accs, fired);
  };
  return {
    toJSON: (kw) => [...windowsOf(kw)].map((w) => [w.start, w.end, w.fired, accsToJSON(aggs, w.accs)]),
    fromJSON: (j) =>
      fromList(
        (j as [number, number, boolean, unknown[]][]).map(([start, end, fired, a]) =>
          newWin(start, end, accsFromJSON(aggs, a), fired),
        ),
      ) ?? empty(),
    write: (w, kw) => {
      w.u8(TAG_ARRAY);
      if (kw instanceof Map) {
        w.varuint(kw.size);
        for (const win of kw.values()) writeWin(w, win);
      } else {
        w.varuint(1);
        writeWin(w, kw);
      }
    },
    read: (r) => {
      const n = r.arrayLength();
      if (n === 1) return readWin(r);
      if (n === 0) return empty();
      const m = new Map<number, Win>();
      for (let i = 0; i < n; i++) {
        const win = readWin(r);
        m.set(win.start, win);
      }
      return m;
    },
  };
}
