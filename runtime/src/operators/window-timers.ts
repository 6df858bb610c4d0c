// The timers of a window aggregate. Every open window has exactly one pending timer — its
// end − 1 until it has fired, then its cleanup time (end − 1 + allowed lateness) — so the
// window is its own timer (key-windows.ts, Win): no timer object and no per-key timer list
// beside the window, which a sliding-window job would otherwise allocate, index, look up and
// garbage-collect once per key and window.
//
// The snapshot form does not change (state-format.md): the `timers` state, `[[timestamp,
// window start], …]` per key, is written from the windows themselves (a derived state), and a
// restore puts each restored timer's timestamp back on its window. A window the restored
// timers do not name gets the timer its state implies (end − 1 if it has not fired, else its
// cleanup time); a timer naming no window is dropped (it would have found none when it fired).
import { stateCorrupt, type BinaryReader } from '../state/binary-reader.ts';
import { TAG_ARRAY, type BinaryWriter } from '../state/binary-writer.ts';
import type { KeyedState, KeyedStateBackend, StateSerializer } from '../state/keyed-state.ts';
import { TimerQueue } from '../time/timer-queue.ts';
import { forEachOldestFirst, windowAt, windowCountOf, windowsOf, type KeyWindows, type Win } from './key-windows.ts';

/** A key's timers as a snapshot holds them: written from its windows, read back as pairs. */
type TimerPairs = [ts: number, ns: number | string][];
type KeyTimers = KeyWindows | TimerPairs;

function writePair(w: BinaryWriter, ts: number, ns: number | string): void {
  w.u8(TAG_ARRAY);
  w.varuint(2);
  w.number(ts);
  w.value(ns);
}

function pairsOf(j: unknown): TimerPairs {
  if (!Array.isArray(j)) stateCorrupt("a key's timers are not an array");
  for (const p of j as unknown[]) {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || !['number', 'string'].includes(typeof p[1]))
      stateCorrupt('a timer is not a [timestamp, namespace] pair');
  }
  return j as TimerPairs;
}

// Written only from the windows (the snapshot reads the windows state's tables); pairs are
// only ever read.
const SERIALIZER: StateSerializer<KeyTimers> = {
  toJSON: (v) =>
    windowsOf(v as KeyWindows)
      .reverse()
      .map((w) => [w.ts, w.start]),
  fromJSON: pairsOf,
  write(w: BinaryWriter, v: KeyTimers): void {
    const kw = v as KeyWindows;
    w.u8(TAG_ARRAY);
    w.varuint(windowCountOf(kw));
    forEachOldestFirst(kw, (win) => writePair(w, win.ts, win.start));
  },
  read(r: BinaryReader): KeyTimers {
    const n = r.arrayLength();
    const out: TimerPairs = new Array(n);
    for (let i = 0; i < n; i++) {
      if (r.arrayLength() !== 2) stateCorrupt('a timer is not a [timestamp, namespace] pair');
      const ts = r.value();
      if (typeof ts !== 'number') stateCorrupt('a timer timestamp is not a number');
      const ns = r.value();
      if (typeof ns !== 'number' && typeof ns !== 'string') stateCorrupt('a timer namespace is not a number or string');
      out[i] = [ts, ns];
    }
    return out;
  },
};

export class WindowTimers {
  private readonly queue = new TimerQueue<Win>();
  private live = 0;

  /** `implied`: the timer a window without a restored one gets (its end − 1, or its cleanup time once fired). */
  constructor(backend: KeyedStateBackend, windows: KeyedState<KeyWindows>, implied: (w: Win) => number) {
    const timers = backend.derivedState<KeyTimers, KeyWindows>('timers', windows, SERIALIZER);
    backend.onRestore(() => {
      this.queue.clear();
      this.live = 0;
      // Restored windows are unqueued (`ts` NaN): each takes its restored timer's timestamp.
      for (const [kg, key, v] of timers.entries()) {
        const kw = windows.get(kg, key);
        for (const [ts, ns] of v as TimerPairs) {
          const w = typeof ns === 'number' ? windowAt(kw, ns) : undefined;
          // Two timers for one window (never written by this runtime): the earlier fires first.
          if (w && !(w.ts <= ts)) w.ts = ts;
        }
      }
      timers.clear();
      for (const [kg, key, kw] of windows.entries())
        for (const w of windowsOf(kw)) this.place(kg, key, w, Number.isNaN(w.ts) ? implied(w) : w.ts);
    });
  }

  /** Pending timers (one per open window). */
  get size(): number {
    return this.live;
  }

  /** Queues `w` of key (`kg`, `key`) to fire at `due`; `w` must not be queued already. */
  place(kg: number, key: string, w: Win, due: number): void {
    w.kg = kg;
    w.key = key;
    w.ns = w.start;
    w.ts = due;
    w.deleted = false;
    this.queue.add(w);
    this.live++;
  }

  /** Drops queued `w` (its window is gone: merged into another session). */
  remove(w: Win): void {
    w.deleted = true;
    this.queue.removed(w);
    this.live--;
  }

  nextTimestamp(): number | undefined {
    return this.queue.nextTimestamp();
  }

  /** Fires, in (time, key group, key, start) order, every window due by `time`; a fired window is no longer queued. */
  advance(time: number, fire: (w: Win) => void): void {
    this.queue.drain(time, (w) => {
      this.live--;
      fire(w);
    });
  }
}
