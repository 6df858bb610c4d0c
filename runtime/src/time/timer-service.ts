// Per-key timers of one keyed operator instance, for one time domain. Timers are
// deduplicated by (key group, key, namespace, timestamp) and fire in timestamp order (ties:
// key group, then key, then namespace — deterministic, independent of registration order).
// The index of live timers IS the keyed state (key group → key → list), so a snapshot writes
// it as it stands and timers move with their key group on rescale (Flink's
// InternalTimerService); the queue (timer-queue.ts) only orders them. A key's list is short (its open windows),
// so dedupe and delete scan it instead of keeping a string id per timer.
import { stateCorrupt, type BinaryReader } from '../state/binary-reader.ts';
import { TAG_ARRAY, type BinaryWriter } from '../state/binary-writer.ts';
import { MAX_MAX_PARALLELISM } from '../state/key-groups.ts';
import { KeyedState, type KeyedStateBackend, type RestoreScope, type StateSerializer } from '../state/keyed-state.ts';
import { TimerQueue, type Timer } from './timer-queue.ts';
import { DiskTimerQueue } from './disk-timer-queue.ts';
import type { TimerOrder } from './timer-order.ts';

export type { Timer } from './timer-queue.ts';

/** A restored timer before the restore hook gives it its key group and key (same shape as Timer). */
const entry = (ts: number, ns: number | string): Timer => ({ ts, kg: -1, key: '', ns, deleted: false });

/**
 * A key's live timers: the timer itself when it has one (most keys: one open window), an
 * array of two or more otherwise. An array per key would cost ~60 B more on the heap, which
 * at a million keys is what the GC marks during a savepoint or a restore.
 */
type KeyTimers = Timer | Timer[];

const listOf = (kt: KeyTimers): Timer[] => (Array.isArray(kt) ? kt : [kt]);

function collapse(list: Timer[]): KeyTimers {
  if (list.length === 0) stateCorrupt('a key holds an empty timer list');
  return list.length === 1 ? (list[0] as Timer) : list;
}

function readTimer(r: BinaryReader): Timer {
  if (r.arrayLength() !== 2) stateCorrupt('a timer is not a [timestamp, namespace] pair');
  const ts = r.number();
  return entry(ts, r.value() as number | string);
}

function writeTimer(w: BinaryWriter, t: Timer): void {
  w.u8(TAG_ARRAY);
  w.varuint(2);
  w.number(t.ts);
  w.value(t.ns);
}

/**
 * JSON form `[[timestamp, namespace], …]` per key (state-format.md). The binary fast path
 * writes exactly the TVE of that form straight from the Timer objects (no pair arrays).
 */
const TIMERS_SERIALIZER: StateSerializer<KeyTimers> = {
  toJSON: (kt) => listOf(kt).map((t) => [t.ts, t.ns]),
  fromJSON: (j) => collapse((j as [number, number | string][]).map(([ts, ns]) => entry(ts, ns))),
  write(w: BinaryWriter, kt: KeyTimers): void {
    w.u8(TAG_ARRAY);
    if (Array.isArray(kt)) {
      w.varuint(kt.length);
      for (const t of kt) writeTimer(w, t);
    } else {
      w.varuint(1);
      writeTimer(w, kt);
    }
  },
  read(r: BinaryReader): KeyTimers {
    const n = r.arrayLength();
    if (n === 1) return readTimer(r);
    const out = new Array<Timer>(n);
    for (let i = 0; i < n; i++) out[i] = readTimer(r);
    return collapse(out);
  },
};

export class TimerService {
  private queue: TimerOrder = new TimerQueue();
  /** Live (registered, not fired, not deleted) timers per key group and key. */
  private bound: KeyedState<KeyTimers> | undefined;
  private live = 0;

  /**
   * Keeps the timers in `backend` under state `name` (snapshotted as they are) and reloads them on
   * restore. With the disk backend both the state and the firing order live in the step's store.
   */
  bind(backend: KeyedStateBackend, name: string): this {
    const index = backend.orderedIndex(name);
    const st = backend.state<KeyTimers>(name, TIMERS_SERIALIZER, { heap: index === undefined });
    if (this.bound) for (const [kg, key, list] of this.bound.entries()) st.put(kg, key, list);
    this.bound = st;
    const disk = index === undefined ? undefined : new DiskTimerQueue(index, backend.maxParallelism);
    if (disk) {
      this.queue = disk;
      this.rebuild(st);
    }
    // Lists were replaced wholesale by the restore: the order is rebuilt and the live count
    // recounted; on disk, for the key groups that moved only (a live rescale's hand-off).
    backend.onRestore((scope) => (disk && scope ? this.rebuildGroups(disk, st, scope) : this.rebuild(st)));
    return this;
  }

  /** Queues every timer of `st`. */
  private rebuild(st: KeyedState<KeyTimers>): void {
    this.queue.clear();
    this.live = 0;
    for (const [kg, key, kt] of st.entries()) this.queueKey(kg, key, kt);
  }

  /** Queues the timers of one key (restored entries get their key group and key); no list for a single one. */
  private queueKey(kg: number, key: string, kt: KeyTimers): void {
    if (Array.isArray(kt)) for (const t of kt) this.queueOne(kg, key, t);
    else this.queueOne(kg, key, kt);
  }

  private queueOne(kg: number, key: string, t: Timer): void {
    t.kg = kg;
    t.key = key;
    this.queue.add(t);
    this.live++;
  }

  private rebuildGroups(q: DiskTimerQueue, st: KeyedState<KeyTimers>, scope: RestoreScope): void {
    // (Not `live -= regroup(…)`: that reads `live` before the callback counts what it queues.)
    const dropped = q.regroup(scope, (kg) => {
      for (const [key, kt] of st.table(kg)) this.queueKey(kg, key, kt);
    });
    this.live -= dropped;
  }

  get size(): number {
    return this.live;
  }

  /** The index; an unbound service (not snapshotted) keeps its own, covering every key group. */
  private get state(): KeyedState<KeyTimers> {
    return (this.bound ??= new KeyedState<KeyTimers>(
      'timers',
      { start: 0, end: MAX_MAX_PARALLELISM - 1 },
      TIMERS_SERIALIZER,
    ));
  }

  register(kg: number, key: string, ns: number | string, ts: number): void {
    const table = this.state.table(kg);
    const cur = table.get(key);
    if (Array.isArray(cur)) {
      for (const o of cur) if (o.ts === ts && o.ns === ns) return;
    } else if (cur && cur.ts === ts && cur.ns === ns) return;
    const t: Timer = { ts, kg, key, ns, deleted: false };
    if (cur === undefined) table.set(key, t);
    else if (Array.isArray(cur)) cur.push(t);
    else table.set(key, [cur, t]);
    this.state.touch(kg, key);
    this.live++;
    this.queue.add(t);
  }

  /** Removes `t` from its key's list (the queue skips it when its turn comes). */
  private unlist(kg: number, key: string, match: (o: Timer) => boolean): Timer | undefined {
    const cur = this.state.get(kg, key);
    if (!cur) return undefined;
    let t: Timer;
    if (Array.isArray(cur)) {
      const i = cur.findIndex(match);
      if (i < 0) return undefined;
      t = cur[i] as Timer;
      cur.splice(i, 1);
      if (cur.length === 1) this.state.put(kg, key, cur[0] as Timer);
    } else {
      if (!match(cur)) return undefined;
      t = cur;
      this.state.delete(kg, key);
    }
    this.live--;
    return t;
  }

  delete(kg: number, key: string, ns: number | string, ts: number): void {
    const t = this.unlist(kg, key, (o) => o.ts === ts && o.ns === ns);
    if (t) {
      // A timer read back from a disk store knows neither (restored entries): the order needs both.
      t.kg = kg;
      t.key = key;
      t.deleted = true;
      this.queue.removed(t);
    }
  }

  nextTimestamp(): number | undefined {
    return this.queue.nextTimestamp();
  }

  /** Fires, in order, every timer with ts ≤ time, including ones registered while firing. */
  advance(time: number, fire: (t: Timer) => void): void {
    this.queue.drain(time, (t) => {
      // (ts, ns) names one timer of a key (they are deduplicated by it); the disk order hands out copies.
      this.unlist(t.kg, t.key, (o) => o.ts === t.ts && o.ns === t.ns);
      fire(t);
    });
  }
}
