// Per-key timers of one keyed operator instance, for one time domain. Timers are
// deduplicated by (key group, key, namespace, timestamp), fire in timestamp order, and are
// written into keyed state per key group on snapshot, so they move with their key group on
// rescale (Flink's InternalTimerService).
import { stateCorrupt, type BinaryReader } from '../state/binary-reader.ts';
import { TAG_ARRAY, type BinaryWriter } from '../state/binary-writer.ts';
import type { KeyedState, KeyedStateBackend, StateSerializer } from '../state/keyed-state.ts';

export interface Timer {
  ts: number;
  kg: number;
  key: string;
  /** Operator-defined namespace, e.g. a window start. */
  ns: number | string;
  id: string;
  deleted: boolean;
}

function less(a: Timer, b: Timer): boolean {
  return a.ts < b.ts || (a.ts === b.ts && a.id < b.id);
}

/** A pending timer as the keyed state holds it between snapshot/restore and the heap (Timer objects qualify). */
interface TimerEntry {
  ts: number;
  ns: number | string;
}

/**
 * JSON form `[[timestamp, namespace], …]` per key (state-format.md). The binary fast path
 * writes exactly the TVE of that form straight from the Timer objects (no pair arrays).
 */
const TIMERS_SERIALIZER: StateSerializer<TimerEntry[]> = {
  toJSON: (list) => list.map((t) => [t.ts, t.ns]),
  fromJSON: (j) => (j as [number, number | string][]).map(([ts, ns]) => ({ ts, ns })),
  write(w: BinaryWriter, list: TimerEntry[]): void {
    w.u8(TAG_ARRAY);
    w.varuint(list.length);
    for (const t of list) {
      w.u8(TAG_ARRAY);
      w.varuint(2);
      w.number(t.ts);
      w.value(t.ns);
    }
  },
  read(r: BinaryReader): TimerEntry[] {
    const n = r.arrayLength();
    const out = new Array<TimerEntry>(n);
    for (let i = 0; i < n; i++) {
      if (r.arrayLength() !== 2) stateCorrupt('a timer is not a [timestamp, namespace] pair');
      const ts = r.number();
      const ns = r.value() as number | string;
      out[i] = { ts, ns };
    }
    return out;
  },
};

export class TimerService {
  private readonly heap: Timer[] = [];
  private readonly byId = new Map<string, Timer>();
  private state: KeyedState<TimerEntry[]> | undefined;

  /** Persists the timers in `backend` under state `name` (snapshot) and reloads them (restore). */
  bind(backend: KeyedStateBackend, name: string): this {
    const st = backend.state<TimerEntry[]>(name, TIMERS_SERIALIZER);
    this.state = st;
    backend.onSnapshot(() => {
      // Group the live timers by key group and key; the lists hold the Timer objects themselves.
      st.clear();
      for (const t of this.byId.values()) {
        const table = st.table(t.kg);
        const list = table.get(t.key);
        if (list) list.push(t);
        else table.set(t.key, [t]);
      }
    });
    backend.onRestore(() => {
      // Bulk load: append every timer, then one O(n) heapify instead of n sift-ups.
      const h = this.heap;
      for (const [kg, key, list] of st.entries()) {
        for (const e of list) {
          const id = TimerService.id(kg, key, e.ns, e.ts);
          if (this.byId.has(id)) continue;
          const t: Timer = { ts: e.ts, kg, key, ns: e.ns, id, deleted: false };
          this.byId.set(id, t);
          h.push(t);
        }
      }
      for (let i = (h.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
      st.clear();
    });
    return this;
  }

  get size(): number {
    return this.byId.size;
  }

  private static id(kg: number, key: string, ns: number | string, ts: number): string {
    return `${ts}\u0000${kg}\u0000${key}\u0000${ns}`;
  }

  register(kg: number, key: string, ns: number | string, ts: number): void {
    const id = TimerService.id(kg, key, ns, ts);
    if (this.byId.has(id)) return;
    const t: Timer = { ts, kg, key, ns, id, deleted: false };
    this.byId.set(id, t);
    this.push(t);
  }

  delete(kg: number, key: string, ns: number | string, ts: number): void {
    const id = TimerService.id(kg, key, ns, ts);
    const t = this.byId.get(id);
    if (t) {
      t.deleted = true;
      this.byId.delete(id);
    }
  }

  nextTimestamp(): number | undefined {
    this.dropDeleted();
    return this.heap[0]?.ts;
  }

  /** Fires, in order, every timer with ts ≤ time, including ones registered while firing. */
  advance(time: number, fire: (t: Timer) => void): void {
    while (true) {
      this.dropDeleted();
      const top = this.heap[0];
      if (!top || top.ts > time) return;
      this.pop();
      this.byId.delete(top.id);
      fire(top);
    }
  }

  private dropDeleted(): void {
    while (this.heap.length > 0 && (this.heap[0] as Timer).deleted) this.pop();
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i] as Timer, h[p] as Timer)) break;
      [h[i], h[p]] = [h[p] as Timer, h[i] as Timer];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Timer;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l] as Timer, h[m] as Timer)) m = l;
      if (r < h.length && less(h[r] as Timer, h[m] as Timer)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
      i = m;
    }
  }
}
