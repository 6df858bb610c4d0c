// A message port between the checkpoint coordinator and a checkpointer in the same process.
// Every call is delivered on a later turn (a microtask), as a transport would deliver it:
// neither side ever re-enters the other from inside one of its own calls.

/** Wraps `target` so that each method call runs on a later microtask; results are dropped. */
export function asyncPort<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = (t as Record<string | symbol, unknown>)[prop];
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        queueMicrotask(() => (v as (...a: unknown[]) => void).apply(t, args));
      };
    },
  });
}
