// ValueState, ListState and MapState of process functions on a KeyedStateBackend: each handle
// is one named keyed state read and written at the current key (the operator sets `scope`
// before calling the function), so it is snapshotted per key group and redistributed on
// rescale like the built-in operators' state. Names are prefixed by kind (`value:`, `list:`,
// `map:`) so a state's kind is part of its identity in a checkpoint.
import { TributaryError } from '../errors.ts';
import type { ListState, MapState, RuntimeContext, ValueState } from '../graph/function-types.ts';
import type { KeyedState, KeyedStateBackend, StateSerializer } from '../state/keyed-state.ts';

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
  private readonly s: KeyedState<T>;
  private readonly scope: KeyScope;
  constructor(s: KeyedState<T>, scope: KeyScope) {
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
  private readonly s: KeyedState<T[]>;
  private readonly scope: KeyScope;
  constructor(s: KeyedState<T[]>, scope: KeyScope) {
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
    if (list) list.push(...values);
    else if (values.length > 0) this.s.put(kg, key, [...values]);
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
  private readonly s: KeyedState<Map<K, V>>;
  private readonly scope: KeyScope;
  constructor(s: KeyedState<Map<K, V>>, scope: KeyScope) {
    this.s = s;
    this.scope = scope;
  }
  private map(create: boolean): Map<K, V> | undefined {
    const { kg, key } = current(this.scope, this.s.name);
    let m = this.s.get(kg, key);
    if (!m && create) this.s.put(kg, key, (m = new Map()));
    return m;
  }
  get(k: K): V | undefined {
    return this.map(false)?.get(k);
  }
  put(k: K, v: V): void {
    (this.map(true) as Map<K, V>).set(k, v);
  }
  remove(k: K): void {
    const m = this.map(false);
    if (!m) return;
    m.delete(k);
    if (m.size === 0) this.clear();
  }
  contains(k: K): boolean {
    return this.map(false)?.has(k) ?? false;
  }
  entries(): [K, V][] {
    return [...(this.map(false) ?? [])];
  }
  keys(): K[] {
    return [...(this.map(false)?.keys() ?? [])];
  }
  values(): V[] {
    return [...(this.map(false)?.values() ?? [])];
  }
  isEmpty(): boolean {
    return (this.map(false)?.size ?? 0) === 0;
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

/** The RuntimeContext given to open(): declares state handles on `backend` at `scope`'s key. */
export function stateContext(
  backend: KeyedStateBackend,
  scope: KeyScope,
  info: { stepName: string; slot: number; parallelism: number },
): RuntimeContext {
  const declared = new Map<string, unknown>();
  const once = <H>(name: string, make: () => H): H => {
    if (!declared.has(name)) declared.set(name, make());
    return declared.get(name) as H;
  };
  return {
    ...info,
    getState: <T>(name: string) =>
      once(`value:${name}`, () => new ValueHandle<T>(backend.state<T>(`value:${name}`), scope)),
    getListState: <T>(name: string) =>
      once(`list:${name}`, () => new ListHandle<T>(backend.state<T[]>(`list:${name}`), scope)),
    getMapState: <K extends string | number, V>(name: string) =>
      once(
        `map:${name}`,
        () =>
          new MapHandle<K, V>(
            backend.state<Map<K, V>>(`map:${name}`, MAP_SERIALIZER as unknown as StateSerializer<Map<K, V>>),
            scope,
          ),
      ),
  };
}
