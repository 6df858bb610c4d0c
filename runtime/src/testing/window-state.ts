// Window state as an earlier runtime wrote it, put entry by entry into a fresh backend: the
// restore tests of the window operators build their "old snapshot" this way.
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';

export interface OldWindowState {
  backend: KeyedStateBackend;
  /** Puts user `user`'s `windows` entry and, when given, its `timers` entry. */
  put(user: string, windows: unknown, timers?: unknown): void;
}

/** An empty backend over key groups 0..127 with a `windows` and a `timers` state. */
export function oldWindowState(): OldWindowState {
  const backend = new KeyedStateBackend(128, { start: 0, end: 127 });
  const windows = backend.state('windows');
  const timers = backend.state('timers');
  return {
    backend,
    put(user, w, t) {
      const key = canonicalKey([user]);
      const kg = keyGroupOf(key, 128);
      if (w !== undefined) windows.put(kg, key, w);
      if (t !== undefined) timers.put(kg, key, t);
    },
  };
}
