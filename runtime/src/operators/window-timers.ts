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
import type { KeyedState, KeyedStateBackend, RestoreScope, StateSerializer } from '../state/keyed-state.ts';
import { TimerQueue } from '../time/timer-queue.ts';
import { DiskTimerQueue } from '../time/disk-timer-queue.ts';
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
  /** With the disk backend: the order of (due, kg, key, start) entries, in place of the queue of windows. */
  private readonly disk: DiskTimerQueue | undefined;
  private readonly windows: KeyedState<KeyWindows>;
  private live = 0;

  /**
   * `implied`: the timer a window without a restored one gets (its end − 1, or its cleanup time
   * once fired). With the disk backend every window's timer is the implied one (restored
   * timestamps are not kept: this runtime only ever writes those), so a window read back from
   * disk knows its due time without a field of its own.
   */
  constructor(backend: KeyedStateBackend, windows: KeyedState<KeyWindows>, implied: (w: Win) => number) {
    this.windows = windows;
    const timers = backend.derivedState<KeyTimers, KeyWindows>('timers', windows, SERIALIZER);
    const index = backend.orderedIndex('timers');
    // A step's store is opened empty (disk-store.ts): so is its index.
    this.disk = index === undefined ? undefined : new DiskTimerQueue(index, backend.maxParallelism);
    backend.onRestore((scope) => {
      if (this.disk) {
        timers.clear();
        this.restoreOnDisk(this.disk, scope, implied);
        return;
      }
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

  /** Requeues the windows of the key groups `scope` names (all when undefined) at their implied times. */
  private restoreOnDisk(disk: DiskTimerQueue, scope: RestoreScope | undefined, implied: (w: Win) => number): void {
    const queue = (kg: number, key: string, kw: KeyWindows): void => {
      for (const w of windowsOf(kw)) this.place(kg, key, w, implied(w));
    };
    if (scope === undefined) {
      disk.clear();
      this.live = 0;
      for (const [kg, key, kw] of this.windows.entries()) queue(kg, key, kw);
      return;
    }
    // (Not `live -= regroup(…)`: that reads `live` before `place` counts what it queues.)
    const dropped = disk.regroup(scope, (kg) => {
      for (const [key, kw] of this.windows.table(kg)) queue(kg, key, kw);
    });
    this.live -= dropped;
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
    if (this.disk) this.disk.add({ ts: due, kg, key, ns: w.start, deleted: false });
    else this.queue.add(w);
    this.live++;
  }

  /** Drops queued `w` of key (`kg`, `key`) (its window is gone: merged into another session). */
  remove(kg: number, key: string, w: Win): void {
    w.deleted = true;
    if (this.disk) this.disk.removed({ ts: w.ts, kg, key, ns: w.start, deleted: true });
    else this.queue.removed(w);
    this.live--;
  }

  nextTimestamp(): number | undefined {
    return this.disk ? this.disk.nextTimestamp() : this.queue.nextTimestamp();
  }

  /** Fires, in (time, key group, key, start) order, every window due by `time`; a fired window is no longer queued. */
  advance(time: number, fire: (w: Win) => void): void {
    if (!this.disk) {
      this.queue.drain(time, (w) => {
        this.live--;
        fire(w);
      });
      return;
    }
    this.disk.drain(time, (t) => {
      this.live--;
      // The window as its key holds it now (a timer outlives no window: merging and removal
      // take the timer out first).
      const w = windowAt(this.windows.get(t.kg, t.key), t.ns as number);
      if (w === undefined) return;
      w.kg = t.kg;
      w.key = t.key;
      w.ts = t.ts;
      fire(w);
    });
  }
}

/**
 * The windows' serializer for a disk store: a key's windows read back (from the store or a
 * snapshot) carry their implied due time, the timer the disk order holds for them.
 */
export function withDueTimes(s: StateSerializer<KeyWindows>, implied: (w: Win) => number): StateSerializer<KeyWindows> {
  const due = (kw: KeyWindows): KeyWindows => {
    // A legacy empty list reads as undefined (key-windows.ts): nothing to set.
    for (let w: Win | undefined = kw; w !== undefined; w = w.older) w.ts = implied(w);
    return kw;
  };
  const read = s.read;
  return {
    toJSON: (v) => s.toJSON(v),
    fromJSON: (j) => due(s.fromJSON(j)),
    ...(s.write ? { write: s.write.bind(s) } : {}),
    ...(read ? { read: (r: BinaryReader) => due(read.call(s, r)) } : {}),
  };
}
