// The stored form of keyed state with a time-to-live (Flink's StateTtlConfig): a TTL'd state's
// value is kept with the processing time it was last written (or read, with OnReadAndWrite),
// its JSON form is `[lastAccessMs, value]` (state-format.md, "State values"), and snapshot
// headers list the TTL'd states (`ttl`), so a reader knows which form each state was written
// in. States without a TTL keep their plain form: nothing changes for them.
//
// Invariant: an entry is expired once lastAccessMs + ttl ≤ now (processing time); expiry only
// moves forward, so dropping an expired entry anywhere (live state, a full snapshot, a merged
// chain) is unobservable — an expired value is never returned.
import { BinaryReader, stateCorrupt } from './binary-reader.ts';
import type { StateSerializer } from './state-serializer.ts';
import type { SnapshotHeader } from './snapshot-framing.ts';

/** What this file needs of a KeyedState (keyed-state.ts imports this file). */
interface NamedState {
  readonly name: string;
  readonly serializer: StateSerializer<unknown>;
}

/** When the timestamp is set: on create and write (Flink's default), or on reads too. */
export type TtlUpdate = 'OnCreateAndWrite' | 'OnReadAndWrite';

export interface TtlConfig {
  /** Milliseconds of processing time after its last access that an entry expires. */
  ttlMs: number;
  update: TtlUpdate;
}

/** A TTL'd value in memory: its last access (processing time, ms) and the value. */
export interface Stamped<V> {
  at: number;
  v: V;
}

/** The serializer of a TTL'd state: wraps the value's own serializer as `[at, value]`. */
export class TtlSerializer<V> implements StateSerializer<Stamped<V>> {
  readonly inner: StateSerializer<V>;
  readonly ttlMs: number;
  /** Processing time now (ms): what a value restored without a timestamp gets. */
  readonly now: () => number;

  constructor(inner: StateSerializer<V>, ttlMs: number, now: () => number) {
    this.inner = inner;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  toJSON(e: Stamped<V>): unknown {
    return [e.at, this.inner.toJSON(e.v)];
  }

  fromJSON(j: unknown): Stamped<V> {
    if (!Array.isArray(j) || j.length !== 2 || typeof j[0] !== 'number')
      stateCorrupt(`a value of a state with a TTL is not [lastAccessMs, value]: ${JSON.stringify(j)?.slice(0, 80)}`);
    return { at: j[0], v: this.inner.fromJSON(j[1]) };
  }
}

/** The `ttl` field of a snapshot header over `states`: each TTL'd state's TTL in ms; none when no state has one. */
export function ttlField(states: readonly NamedState[]): { ttl?: Record<string, number> } {
  let ttl: Record<string, number> | undefined;
  for (const s of states)
    if (s.serializer instanceof TtlSerializer) (ttl ??= {})[s.name] = (s.serializer as TtlSerializer<unknown>).ttlMs;
  return ttl ? { ttl } : {};
}

/**
 * Reads the JSON form of one value of state `s` written in a file whose header says whether that
 * state had a TTL (`stamped`): the same form decodes as usual; a plain value restored into a
 * TTL'd state is stamped with the restore time; a stamped value restored into a state without
 * TTL loses its stamp.
 */
export function jsonReader(s: NamedState, stamped: boolean): (j: unknown) => unknown {
  const ser = s.serializer;
  const ttl = ser instanceof TtlSerializer ? (ser as TtlSerializer<unknown>) : undefined;
  if (stamped === (ttl !== undefined)) return (j) => ser.fromJSON(j);
  if (ttl) {
    const at = ttl.now();
    return (j) => ({ at, v: ttl.inner.fromJSON(j) });
  }
  return (j) => {
    if (!Array.isArray(j) || j.length !== 2)
      stateCorrupt(`state "${s.name}" is listed with a TTL but a value is not [lastAccessMs, value]`);
    return ser.fromJSON(j[1]);
  };
}

/** jsonReader over a value's TVE, with the serializer's fast path when the forms match. */
export function valueReader(s: NamedState, stamped: boolean): (r: BinaryReader) => unknown {
  const ser = s.serializer;
  if (stamped === ser instanceof TtlSerializer && ser.read) return ser.read.bind(ser);
  const fromJSON = jsonReader(s, stamped);
  return (r) => fromJSON(r.value());
}

/** Whether the file of `h` wrote state `name` with a TTL. */
export function stampedIn(h: SnapshotHeader, name: string): boolean {
  return h.ttl?.[name] !== undefined;
}

/**
 * The entries of a chain merge (delta-merge.ts) to keep: for a state the header lists with a TTL,
 * those not expired at `now`, read from the timestamp at the head of the value's TVE bytes
 * (the rest is not decoded). Undefined when the header lists no TTL'd state.
 */
export function unexpiredFilter(
  h: SnapshotHeader,
  now: number,
): ((state: string, value: Uint8Array) => boolean) | undefined {
  const ttl = h.ttl;
  if (!ttl || Object.keys(ttl).length === 0) return undefined;
  return (state, value) => {
    const ms = ttl[state];
    if (ms === undefined) return true;
    const r = new BinaryReader(value);
    if (r.arrayLength() !== 2)
      stateCorrupt(`state "${state}" is listed with a TTL but a value is not [lastAccessMs, value]`);
    return r.number() + ms > now;
  };
}

/** Whether state `s` keeps its values with a TTL stamp (`[lastAccessMs, value]`). */
export function isTtlState(s: { readonly serializer: unknown }): boolean {
  return s.serializer instanceof TtlSerializer;
}
