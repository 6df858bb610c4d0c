// The open windows of one key of a window aggregate, and their keyed-state serializer.
// A key's windows are a doubly linked list sorted by start, newest first, held in keyed state
// by its head: no Map per key (a Map costs ~180 bytes even with one entry, and a sliding
// window's churn of one insert and one delete per slide rehashed it), and a window is unlinked
// in O(1) when it is dropped, without looking its key up — only dropping the head (the key's
// newest window) changes what keyed state holds. A record of a sliding window falls in
// size ÷ slide windows, latest first, which the operator matches against the list in one walk.
// The snapshot form does not change: a key's windows are an array, oldest first
// (state-format.md).
//
// A window is also its own timer (window-timers.ts): every open window has exactly one
// pending timer — its end − 1 until it fires, then its cleanup time — so the window carries
// the timer's fields instead of a second object per key and window.
import { stateCorrupt, type BinaryReader } from '../state/binary-reader.ts';
import { TAG_ARRAY, TAG_FALSE, TAG_TRUE, type BinaryWriter } from '../state/binary-writer.ts';
import type { StateSerializer } from '../state/keyed-state.ts';
import type { Timer } from '../time/timer.ts';

/**
 * How one accumulator slot of a window is written to and read from its JSON form: a CEL
 * aggregator (aggregators.ts) per output, or a function aggregation's one accumulator.
 */
export interface AccumulatorCodec {
  toJSON(acc: unknown): unknown;
  fromJSON(j: unknown): unknown;
}

/**
 * `legacyFunctionForm`: also read `[start, end, accumulator]`, the form function windows wrote
 * before they shared the window operator.
 */
export interface KeyWindowsFormat {
  legacyFunctionForm?: boolean;
}

/**
 * An open window of one key. As a timer: `ts` is when it is due (set when it is queued), `kg`
 * and `key` its key, `ns` its start once queued, `deleted` set when it is dropped while queued.
 * `newer`/`older`: its neighbours in the key's list (starts strictly decreasing along `older`).
 */
export interface Win extends Timer {
  start: number;
  end: number;
  accs: unknown[];
  fired: boolean;
  ns: number;
  newer: Win | undefined;
  older: Win | undefined;
}

/** A window not yet queued as a timer nor linked (no key; due time NaN until it is). */
export function newWin(start: number, end: number, accs: unknown[], fired: boolean): Win {
  return {
    start,
    end,
    accs,
    fired,
    ts: Number.NaN,
    kg: -1,
    key: '',
    ns: start,
    deleted: false,
    newer: undefined,
    older: undefined,
  };
}

/** A key's windows: the newest, from which `older` leads to the rest. */
export type KeyWindows = Win;

export function windowAt(kw: KeyWindows | undefined, start: number): Win | undefined {
  for (let w = kw; w !== undefined && w.start >= start; w = w.older) if (w.start === start) return w;
  return undefined;
}

/** The key's windows, newest first. */
export function windowsOf(kw: KeyWindows | undefined): Win[] {
  const out: Win[] = [];
  for (let w = kw; w !== undefined; w = w.older) out.push(w);
  return out;
}

export function windowCountOf(kw: KeyWindows): number {
  let n = 0;
  for (let w: Win | undefined = kw; w !== undefined; w = w.older) n++;
  return n;
}

/**
 * Links unlinked `w` between `newer` (undefined: `w` becomes the head) and `older` (undefined:
 * the tail), which must be adjacent with newer.start > w.start > older.start. Returns the head.
 */
export function linkBetween(head: KeyWindows | undefined, newer: Win | undefined, older: Win | undefined, w: Win): Win {
  w.newer = newer;
  w.older = older;
  if (older !== undefined) older.newer = w;
  if (newer === undefined) return w;
  newer.older = w;
  return head as Win;
}

/** `kw` with unlinked `w` linked in at its place; no window of `kw` may start where `w` does. */
export function withWindow(kw: KeyWindows | undefined, w: Win): KeyWindows {
  let newer: Win | undefined;
  let older = kw;
  while (older !== undefined && older.start > w.start) {
    newer = older;
    older = older.older;
  }
  return linkBetween(kw, newer, older, w);
}

/** Takes `w` out of its key's list (O(1): its neighbours are linked to each other). */
export function unlink(w: Win): void {
  const { newer, older } = w;
  if (older !== undefined) older.newer = newer;
  if (newer !== undefined) newer.older = older;
  w.newer = undefined;
  w.older = undefined;
}

/** The head of the list whose head is `kw` once `w` is unlinked from it; undefined when none is left. */
export function withoutWindow(kw: KeyWindows, w: Win): KeyWindows | undefined {
  const older = w.older;
  unlink(w);
  return w === kw ? older : kw;
}

/** Restored windows as a list; two windows of one key with the same start are corrupt state. */
function fromList(list: Win[]): KeyWindows | undefined {
  list.sort((a, b) => b.start - a.start);
  for (let i = 1; i < list.length; i++) {
    const w = list[i] as Win;
    const newer = list[i - 1] as Win;
    if (newer.start === w.start) stateCorrupt(`two windows of a key start at ${w.start}`);
    newer.older = w;
    w.newer = newer;
  }
  return list[0];
}

function oldestOf(kw: KeyWindows): Win {
  let w = kw;
  while (w.older !== undefined) w = w.older;
  return w;
}

/** Each of the key's windows, oldest first (the order a snapshot writes them in). */
export function forEachOldestFirst(kw: KeyWindows, f: (w: Win) => void): void {
  for (let w: Win | undefined = oldestOf(kw); w !== undefined; w = w.newer) f(w);
}

/**
 * JSON form `[[start, end, fired, accumulators], …]` per key, oldest first; the binary paths
 * write and read exactly its TVE. A legacy function window `[start, end, accumulator]` (read
 * only with `legacyFunctionForm`) had not fired: the old function operator removed a window
 * when it fired. A key whose legacy list is empty (possible there) holds no windows: read as
 * undefined, which the window operator drops right after the restore.
 */
export function keyWindowsSerializer(
  aggs: readonly AccumulatorCodec[],
  format: KeyWindowsFormat = {},
): StateSerializer<KeyWindows> {
  const legacy = format.legacyFunctionForm === true;
  const accsToJSON = (accs: readonly unknown[]): unknown[] => aggs.map((a, j) => a.toJSON(accs[j]));
  const accsFromJSON = (j: readonly unknown[]): unknown[] => aggs.map((a, i) => a.fromJSON(j[i]));
  const writeWin = (w: BinaryWriter, win: Win): void => {
    w.u8(TAG_ARRAY);
    w.varuint(4);
    w.number(win.start);
    w.number(win.end);
    w.u8(win.fired ? TAG_TRUE : TAG_FALSE);
    w.u8(TAG_ARRAY);
    w.varuint(aggs.length);
    for (let j = 0; j < aggs.length; j++) w.value((aggs[j] as AccumulatorCodec).toJSON(win.accs[j]));
  };
  const empty = (): never => (legacy ? (undefined as never) : stateCorrupt('a key holds an empty window list'));
  // Accumulators are decoded straight into their array (what accsFromJSON gives, without the
  // intermediate JSON array): a restore reads a million of them.
  const readWin = (r: BinaryReader): Win => {
    const len = r.arrayLength();
    if (legacy && len === 3) {
      const start = r.number();
      const end = r.number();
      return newWin(start, end, accsFromJSON([r.value()]), false);
    }
    if (len !== 4) stateCorrupt('a window is not [start, end, fired, accumulators]');
    const start = r.number();
    const end = r.number();
    const fired = r.value();
    if (typeof fired !== 'boolean') stateCorrupt('window "fired" is not a boolean');
    const na = r.arrayLength();
    const accs = new Array<unknown>(aggs.length);
    for (let j = 0; j < na; j++) {
      const v = r.value();
      if (j < aggs.length) accs[j] = (aggs[j] as AccumulatorCodec).fromJSON(v);
    }
    for (let j = na; j < aggs.length; j++) accs[j] = (aggs[j] as AccumulatorCodec).fromJSON(undefined);
    return newWin(start, end, accs, fired);
  };
  return {
    toJSON: (kw) =>
      windowsOf(kw)
        .reverse()
        .map((w) => [w.start, w.end, w.fired, accsToJSON(w.accs)]),
    fromJSON: (j) =>
      fromList(
        (j as unknown[][]).map((e) =>
          legacy && e.length === 3
            ? newWin(e[0] as number, e[1] as number, accsFromJSON([e[2]]), false)
            : newWin(e[0] as number, e[1] as number, accsFromJSON(e[3] as unknown[]), e[2] as boolean),
        ),
      ) ?? empty(),
    write: (w, kw) => {
      w.u8(TAG_ARRAY);
      w.varuint(windowCountOf(kw));
      forEachOldestFirst(kw, (win) => writeWin(w, win));
    },
    read: (r) => {
      const n = r.arrayLength();
      if (n === 0) return empty();
      const list = new Array<Win>(n);
      for (let i = 0; i < n; i++) list[i] = readWin(r);
      return fromList(list) as Win;
    },
  };
}
