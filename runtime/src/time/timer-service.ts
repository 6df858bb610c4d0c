// Per-key timers of one keyed operator instance, for one time domain. Timers are
// deduplicated by (key group, key, namespace, timestamp), fire in timestamp order, and are
// written into keyed state per key group on snapshot, so they move with their key group on
// rescale (Flink's InternalTimerService).
import type { KeyedState, KeyedStateBackend } from '../state/keyed-state.ts';

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

export class TimerService {
  private readonly heap: Timer[] = [];
  private readonly byId = new Map<string, Timer>();
  private state: KeyedState<[number, number | string][]> | undefined;

  /** Persists the timers in `backend` under state `name` (snapshot) and reloads them (restore). */
  bind(backend: KeyedStateBackend, name: string): this {
    const st = backend.state<[number, number | string][]>(name);
    this.state = st;
    backend.onSnapshot(() => {
      st.clear();
      for (const t of this.byId.values()) {
        const list = st.get(t.kg, t.key);
        if (list) list.push([t.ts, t.ns]);
        else st.put(t.kg, t.key, [[t.ts, t.ns]]);
      }
    });
    backend.onRestore(() => {
      for (const [kg, key, list] of st.entries()) for (const [ts, ns] of list) this.register(kg, key, ns, ts);
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
    let i = 0;
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
