// Whether an object is still reachable, asked of the real garbage collector: a WeakRef to it,
// a turn of the event loop (a WeakRef keeps its target alive until the current job ends), then
// a full collection. Tests use it to show a queue lets go of what its consumer took.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** WeakRefs to `targets`, to be checked with `collected` after the caller dropped its own references. */
export function watch(targets: readonly object[]): WeakRef<object>[] {
  return targets.map((t) => new WeakRef(t));
}

/** How many of the watched objects the collector reclaimed. */
export async function collected(refs: readonly WeakRef<object>[]): Promise<number> {
  await new Promise<void>((r) => setImmediate(r));
  gc();
  return refs.filter((r) => r.deref() === undefined).length;
}
