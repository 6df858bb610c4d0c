// ValueState, ListState and MapState of process functions on a KeyedStateBackend: each handle
// is one named keyed state read and written at the current key (the operator sets `scope`
// before calling the function), so it is snapshotted per key group and redistributed on
// rescale like the built-in operators' state. Names are prefixed by kind (`value:`, `list:`,
// `map:`) so a state's kind is part of its identity in a checkpoint. A state declared with a
// `ttl` (StateOptions) is a TtlState: the same names, its values stamped with their last access.
import { TributaryError } from '../errors.ts';
import type { ListState, MapState, RuntimeContext, StateOptions, ValueState } from '../graph/function-types.ts';
import type { KeyedStateBackend, StateSerializer } from '../state/keyed-state.ts';
import { keyedAccess, type ExpiredCount, type KeyedAccess } from '../state/ttl-state.ts';
import type { TtlConfig } from '../state/state-ttl.ts';

/** The key being processed; kg −1 = none (outside processElement/onTimer). */
export interface KeyScope {
  kg: number;
  key: string;
}

function current(scope: KeyScope, state: string): KeyScope {
  if (scope.kg < 0)
    throw new TributaryError(
      'TRIB_FUNCTION_FAILED',
      `keyed state "${state}" used outside processElement/onTimer: it has no current key`,
    );
  return scope;
}

class ValueHandle<T> implements ValueState<T> {
  private readonly s: KeyedAccess<T>;
  private readonly scope: KeyScope;
  constructor(s: KeyedAccess<T>, scope: KeyScope) {
    this.s = s;
    this.scope = scope;
  }
  value(): T | undefined {
    const { kg, key } = current(this.scope, this.s.name);
    return this.s.get(kg, key);
  }
  update(value: T): void {
    const { kg, key } = current(this.scope, this.s.name);
    if (value === undefined) this.s.delete(kg, key);
    else this.s.put(kg, key, value);
  }
  clear(): void {
    const { kg, key } = current(this.scope, this.s.name);
    this.s.delete(kg, key);
  }
}

class ListHandle<T> implements ListState<T> {
  private readonly s: KeyedAccess<T[]>;
  private readonly scope: KeyScope;
  constructor(s: KeyedAccess<T[]>, scope: KeyScope) {
    this.s = s;
    this.scope = scope;
  }
  get(): T[] {
    const { kg, key } = current(this.scope, this.s.name);
    return [...(this.s.get(kg, key) ?? [])];
  }
  add(value: T): void {
    this.addAll([value]);
  }
  addAll(values: readonly T[]): void {
    const { kg, key } = current(this.scope, this.s.name);
    const list = this.s.get(kg, key);
    if (list) {
      list.push(...values);
      this.s.touch(kg, key);
    } else if (values.length > 0) this.s.put(kg, key, [...values]);
  }
  update(values: readonly T[]): void {
    const { kg, key } = current(this.scope, this.s.name);
    if (values.length === 0) this.s.delete(kg, key);
    else this.s.put(kg, key, [...values]);
  }
  clear(): void {
    const { kg, key } = current(this.scope, this.s.name);
    this.s.delete(kg, key);
  }
}

class MapHandle<K extends string | number, V> implements MapState<K, V> {
  private readonly s: KeyedAccess<Map<K, V>>;
  private readonly scope: KeyScope;
  constructor(s: KeyedAccess<Map<K, V>>, scope: KeyScope) {
    this.s = s;
    this.scope = scope;
  }
  private map(): Map<K, V> | undefined {
    const { kg, key } = current(this.scope, this.s.name);
    return this.s.get(kg, key);
  }
  get(k: K): V | undefined {
    return this.map()?.get(k);
  }
  put(k: K, v: V): void {
    const { kg, key } = current(this.scope, this.s.name);
    const m = this.s.get(kg, key);
    if (!m) this.s.put(kg, key, new Map([[k, v]]));
    else {
      m.set(k, v);
      this.s.touch(kg, key);
    }
  }
  remove(k: K): void {
    const m = this.map();
    if (!m?.delete(k)) return;
    if (m.size === 0) this.clear();
    else this.s.touch(this.scope.kg, this.scope.key);
  }
  contains(k: K): boolean {
    return this.map()?.has(k) ?? false;
  }
  entries(): [K, V][] {
    return [...(this.map() ?? [])];
  }
  keys(): K[] {
    return [...(this.map()?.keys() ?? [])];
  }
  values(): V[] {
    return [...(this.map()?.values() ?? [])];
  }
  isEmpty(): boolean {
    return (this.map()?.size ?? 0) === 0;
  }
  clear(): void {
    const { kg, key } = current(this.scope, this.s.name);
    this.s.delete(kg, key);
  }
}

/** A map's JSON form is its entry list `[[key, value], …]` (keys keep their type). */
const MAP_SERIALIZER: StateSerializer<Map<unknown, unknown>> = {
  toJSON: (m) => [...m],
  fromJSON: (j) => new Map(j as [unknown, unknown][]),
};

/** What a state with a TTL needs of its operator: processing time, and where expiries are counted. */
export interface TtlClock {
  now: () => number;
  expired: ExpiredCount;
}

/** The TTL of a state declared with `o`, checked (TRIB_FUNCTION_FAILED names the step and state). */
function ttlOf(step: string, state: string, o: StateOptions | undefined): TtlConfig | undefined {
  if (o === undefined) return undefined;
  const update = o.update ?? 'OnCreateAndWrite';
  if (!Number.isSafeInteger(o.ttl) || o.ttl <= 0 || (update !== 'OnCreateAndWrite' && update !== 'OnReadAndWrite'))
    throw new TributaryError(
      'TRIB_FUNCTION_FAILED',
      `step "${step}": state "${state}" has options ${JSON.stringify(o)}; expected {ttl: <positive integer ms>, update?: "OnCreateAndWrite" | "OnReadAndWrite"}`,
    );
  return { ttlMs: o.ttl, update };
}

/** The RuntimeContext given to open(): declares state handles on `backend` at `scope`'s key. */
export function stateContext(
  backend: KeyedStateBackend,
  scope: KeyScope,
  info: { stepName: string; slot: number; parallelism: number },
  clock: TtlClock,
): RuntimeContext {
  const declared = new Map<string, { handle: unknown; options: string }>();
  // A state is declared once per slot; declaring it again with other options is a mistake in the job's code.
  const once = <H>(name: string, o: StateOptions | undefined, make: (ttl: TtlConfig | undefined) => H): H => {
    const options = JSON.stringify(o ?? null);
    const had = declared.get(name);
    if (had && had.options !== options)
      throw new TributaryError(
        'TRIB_FUNCTION_FAILED',
        `step "${info.stepName}": state "${name}" declared twice with different options (${had.options}, then ${options})`,
      );
    if (had) return had.handle as H;
    const handle = make(ttlOf(info.stepName, name, o));
    declared.set(name, { handle, options });
    return handle;
  };
  const access = <V>(name: string, ttl: TtlConfig | undefined, ser?: StateSerializer<V>): KeyedAccess<V> =>
    keyedAccess<V>(backend, name, ser, ttl && { cfg: ttl, now: clock.now, expired: clock.expired });
  return {
    ...info,
    getState: <T>(name: string, o?: StateOptions) =>
      once(`value:${name}`, o, (ttl) => new ValueHandle<T>(access<T>(`value:${name}`, ttl), scope)),
    getListState: <T>(name: string, o?: StateOptions) =>
      once(`list:${name}`, o, (ttl) => new ListHandle<T>(access<T[]>(`list:${name}`, ttl), scope)),
    getMapState: <K extends string | number, V>(name: string, o?: StateOptions) =>
      once(
        `map:${name}`,
        o,
        (ttl) =>
          new MapHandle<K, V>(
            access<Map<K, V>>(`map:${name}`, ttl, MAP_SERIALIZER as unknown as StateSerializer<Map<K, V>>),
            scope,
          ),
      ),
  };
}
