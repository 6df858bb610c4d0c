// The firing order of a TimerService's timers with the disk state backend: an ordered index in
// the step's local store instead of the heap queue, so timers cost disk, not heap, as keyed
// state does. The keyed `timers` state stays the snapshot's source of truth; this index is
// rebuilt from it after every restore, like the heap queue.
//
// Layout: one entry per timer, key `[kg u16][ts][key UTF-8][0][ns][key length u16]`, no value.
// `ts` and a numeric `ns` are order-preserving doubles, so a key group's timers are in (ts, key,
// ns) order; firing merges the key groups by (ts, kg) through `heads`. The order is the heap
// queue's except for keys holding NUL or characters beyond U+FFFF next to ones at or above U+E000
// (UTF-8 byte order against UTF-16 code units) and namespaces mixing numbers and strings.
//
// A drain reads a key group's due timers in batches and fires them; fired timers are removed in
// memory and read past with a cursor, and timers added for later stay in memory, so a drain
// writes only when a timer it must fire was added meanwhile.
//
// Invariants:
// - `adds` and `removes` hold the last change of each timer not yet written (never both); a
//   timer is live when it was added last, or is in lmdb and not removed since. Removing a timer
//   lmdb does not hold is harmless, so neither map needs to know what lmdb holds;
// - `heads[kg]` is at most the timestamp of key group kg's earliest live timer (Infinity: none):
//   a lower bound that a read of the key group makes exact. During a drain it may overlook
//   pending timers due after the drain's time (a read looks at lmdb only); the flush that writes
//   them lowers it again.
import { TributaryError } from '../errors.ts';
import { removeRange, type KvDatabase } from '../state/kv-database.ts';
import type { RestoreScope } from '../state/keyed-state.ts';
import type { Timer } from './timer.ts';
import type { TimerOrder } from './timer-order.ts';

/** Pending changes kept in memory before they are written in one transaction. */
const FLUSH_AT = 8192;
/** Timers read from lmdb per batch when firing. */
const BATCH = 512;
/** lmdb's key size limit (bytes). */
const MAX_KEY = 1978;
const NS_NUMBER = 1;
const NS_STRING = 2;
const EMPTY = new Uint8Array(0);
const ZERO = Buffer.from([0]);
const scratch = Buffer.alloc(8);

function putOrdered(b: Buffer, at: number, v: number): void {
  b.writeDoubleBE(v, at);
  if ((b[at] as number) & 0x80) for (let i = at; i < at + 8; i++) b[i] = ~(b[i] as number) & 0xff;
  else b[at] = (b[at] as number) | 0x80;
}

function getOrdered(b: Buffer, at: number): number {
  b.copy(scratch, 0, at, at + 8);
  if ((scratch[0] as number) & 0x80) scratch[0] = (scratch[0] as number) & 0x7f;
  else for (let i = 0; i < 8; i++) scratch[i] = ~(scratch[i] as number) & 0xff;
  return scratch.readDoubleBE(0);
}

/** The index key of a timer. */
export function timerKey(kg: number, ts: number, key: string, ns: number | string): Buffer {
  const keyLen = Buffer.byteLength(key);
  const nsLen = typeof ns === 'number' ? 8 : Buffer.byteLength(ns);
  const n = 2 + 8 + keyLen + 2 + nsLen + 2;
  if (n > MAX_KEY || keyLen > 0xffff)
    throw new TributaryError(
      'TRIB_STATE_KEY_TOO_LONG',
      `a timer of key ${JSON.stringify(key.slice(0, 60))} takes ${n} bytes, more than the disk state backend's limit of ${MAX_KEY}; use a shorter key or the heap backend`,
    );
  const b = Buffer.allocUnsafe(n);
  b.writeUInt16BE(kg, 0);
  putOrdered(b, 2, ts);
  b.write(key, 10, 'utf8');
  let at = 10 + keyLen;
  b[at++] = 0;
  if (typeof ns === 'number') {
    b[at++] = NS_NUMBER;
    putOrdered(b, at, ns);
  } else {
    b[at++] = NS_STRING;
    b.write(ns, at, 'utf8');
  }
  b.writeUInt16BE(keyLen, n - 2);
  return b;
}

export function timerOfKey(b: Buffer): Timer {
  const keyLen = b.readUInt16BE(b.length - 2);
  const at = 10 + keyLen + 1;
  const ns = b[at] === NS_NUMBER ? getOrdered(b, at + 1) : b.toString('utf8', at + 1, b.length - 2);
  return { ts: getOrdered(b, 2), kg: b.readUInt16BE(0), key: b.toString('utf8', 10, 10 + keyLen), ns, deleted: false };
}

/** Whether the timer at index key `a` (ts `at`) fires before the one at `b` (ts `bt`). */
function firesBefore(a: Buffer, at: number, b: Buffer, bt: number): boolean {
  if (at !== bt) return at < bt;
  const ka = a.readUInt16BE(0);
  const kb = b.readUInt16BE(0);
  return ka !== kb ? ka < kb : Buffer.compare(a, b) < 0;
}

const groupStart = (kg: number): Buffer => Buffer.from([kg >> 8, kg & 255]);

export class DiskTimerQueue implements TimerOrder {
  private readonly db: KvDatabase;
  private readonly heads: Float64Array;
  /** Pending writes, by the index key's bytes as a latin1 string. */
  private readonly adds = new Map<string, Buffer>();
  private readonly removes = new Map<string, Buffer>();
  /** While firing: the batch's last timer (its key and ts), and whether an add went before it. */
  private end: Buffer | undefined = undefined;
  private endTs = 0;
  private jumped = false;
  /** While draining: per key group, the last index key consumed (fired, or skipped as removed). */
  private readonly after = new Map<number, Buffer>();
  /** While draining: its time, and how many timers were added due by it since the last flush. */
  private drainTime = -Infinity;
  private dueAdds = 0;
  private minDue = Infinity;

  constructor(db: KvDatabase, maxParallelism: number) {
    this.db = db;
    this.heads = new Float64Array(maxParallelism).fill(Infinity);
  }

  add(t: Timer): void {
    const k = timerKey(t.kg, t.ts, t.key, t.ns);
    const id = k.toString('latin1');
    this.removes.delete(id);
    this.adds.set(id, k);
    if (t.ts < (this.heads[t.kg] as number)) this.heads[t.kg] = t.ts;
    if (t.ts <= this.drainTime) {
      this.dueAdds++;
      if (t.ts < this.minDue) this.minDue = t.ts;
    }
    // Before the batch's last timer: it must fire among the rest, which are read again.
    if (this.end !== undefined && firesBefore(k, t.ts, this.end, this.endTs)) this.jumped = true;
    if (this.adds.size + this.removes.size >= FLUSH_AT) this.flush();
  }

  removed(t: Timer): void {
    const k = timerKey(t.kg, t.ts, t.key, t.ns);
    const id = k.toString('latin1');
    this.adds.delete(id);
    this.removes.set(id, k);
    if (this.adds.size + this.removes.size >= FLUSH_AT) this.flush();
  }

  /** Writes the pending adds and removals in one transaction. */
  private flush(): void {
    if (this.adds.size === 0 && this.removes.size === 0) return;
    // A timer added due in the running drain may sort before a cursor: reads start over (fired
    // ones are gone then). Later ones sort after every cursor.
    if (this.dueAdds > 0) this.after.clear();
    this.dueAdds = 0;
    this.minDue = Infinity;
    const adds = [...this.adds.values()];
    // A read since the add may have set its key group's head from lmdb alone: lower it again.
    for (const k of adds) {
      const kg = k.readUInt16BE(0);
      const ts = getOrdered(k, 2);
      if (ts < (this.heads[kg] as number)) this.heads[kg] = ts;
    }
    const removes = [...this.removes.values()];
    this.adds.clear();
    this.removes.clear();
    this.db.transactionSync(() => {
      for (const k of removes) this.db.removeSync(k);
      for (const k of adds) this.db.putSync(k, EMPTY);
    });
  }

  /** The key group whose head is the least (ts, kg), skipping `except`; -1 when none. */
  private least(except = -1): number {
    const h = this.heads;
    let best = -1;
    let bt = Infinity;
    for (let kg = 0; kg < h.length; kg++) {
      const ts = h[kg] as number;
      if (ts < bt && kg !== except) {
        bt = ts;
        best = kg;
      }
    }
    return best;
  }

  /**
   * Up to `limit` timers of `kg` in order, from its earliest unconsumed one (after its cursor
   * while draining); sets its head to the first that is not removed (a lower bound when the
   * whole batch is: the cursor then moves past it).
   */
  private read(kg: number, limit: number): Buffer[] {
    const from = this.after.get(kg);
    const start = from ? Buffer.concat([from, ZERO]) : groupStart(kg);
    const keys = [...this.db.getKeys({ start, end: groupStart(kg + 1), limit })] as Buffer[];
    const live = keys.find((k) => !this.removes.has(k.toString('latin1')));
    if (live !== undefined) this.heads[kg] = getOrdered(live, 2);
    else if (keys.length < limit) this.heads[kg] = Infinity;
    else {
      const last = keys[keys.length - 1] as Buffer;
      this.heads[kg] = getOrdered(last, 2);
      this.after.set(kg, last);
    }
    return keys;
  }

  /** Up to BATCH timers of `kg` after its cursor with ts before `last` (or at it, when `inclusive`). */
  private readUntil(kg: number, last: number, inclusive: boolean): Buffer[] {
    const from = this.after.get(kg);
    const start = from ? Buffer.concat([from, ZERO]) : groupStart(kg);
    let end = groupStart(kg + 1);
    if (last !== Infinity) {
      // No index key holds 0xff after its timestamp (UTF-8 never does, the separator is 0).
      end = Buffer.alloc(inclusive ? 11 : 10, 0xff);
      end.writeUInt16BE(kg, 0);
      putOrdered(end, 2, last);
    }
    return [...this.db.getKeys({ start, end, limit: BATCH })] as Buffer[];
  }

  nextTimestamp(): number | undefined {
    this.flush();
    for (;;) {
      const kg = this.least();
      if (kg < 0) return undefined;
      const lower = this.heads[kg] as number;
      this.read(kg, 1);
      if (this.heads[kg] === lower) return lower;
    }
  }

  drain(time: number, fire: (t: Timer) => void): void {
    // Fired timers are removed in memory and read past with a cursor per key group, so a drain
    // writes to lmdb only when timers were added (they must be read in order).
    this.flush();
    this.drainTime = time;
    try {
      for (;;) {
        const kg = this.least();
        const head = kg < 0 ? Infinity : (this.heads[kg] as number);
        // Timers added due by now are written once the drain reaches their time, not before.
        if (this.dueAdds > 0 && this.minDue <= Math.min(head, time)) {
          this.flush();
          continue;
        }
        if (kg < 0 || head > time) return;
        this.read(kg, 1);
        if (this.heads[kg] !== head) continue; // the head was a lower bound: look again
        // Fire while this key group's timers come before every other key group's head and every
        // pending added timer: read only those (a key group holds many timers, few due at once).
        const other = this.least(kg);
        const ot = other < 0 ? Infinity : (this.heads[other] as number);
        let last = Math.min(time, ot);
        let inclusive = last < ot || kg < other;
        if (this.minDue <= last) [last, inclusive] = [this.minDue, false];
        const until = (ts: number): boolean => ts < last || (ts === last && inclusive);
        this.fireBatch(kg, this.readUntil(kg, last, inclusive), until, fire);
      }
    } finally {
      this.after.clear();
      this.drainTime = -Infinity;
    }
  }

  private fireBatch(kg: number, batch: Buffer[], until: (ts: number) => boolean, fire: (t: Timer) => void): void {
    this.jumped = false;
    const end = batch[batch.length - 1];
    if (end === undefined) return;
    this.end = end;
    this.endTs = getOrdered(end, 2);
    try {
      for (const k of batch) {
        if (!until(getOrdered(k, 2))) return;
        this.after.set(kg, k);
        const id = k.toString('latin1');
        if (this.removes.has(id)) continue; // fired or deleted already
        this.adds.delete(id); // deleted and added again meanwhile: it fires once, now
        this.removes.set(id, k);
        fire(timerOfKey(k));
        // A timer added before the rest of the batch fires among them: read again.
        if (this.jumped) return;
      }
    } finally {
      this.end = undefined;
    }
  }

  /** Removes every timer of key group `kg` (given up, or about to be loaded again); returns how many. */
  private dropGroup(kg: number): number {
    this.flush();
    this.heads[kg] = Infinity;
    return removeRange(this.db, { start: groupStart(kg), end: groupStart(kg + 1) });
  }

  /**
   * After a live hand-off: drops the timers of the key groups given up, and of those loaded,
   * which `index` then queues again from their state; returns how many timers were dropped.
   */
  regroup(scope: RestoreScope, index: (kg: number) => void): number {
    let n = 0;
    for (const kg of scope.dropped ?? []) n += this.dropGroup(kg);
    for (const kg of scope.loaded ?? []) {
      n += this.dropGroup(kg);
      index(kg);
    }
    return n;
  }

  clear(): void {
    this.adds.clear();
    this.removes.clear();
    this.heads.fill(Infinity);
    this.db.clearSync();
  }
}
