// Runs a call on every source reader of some slots, each in its slot's loop (a reader is the slot
// thread's alone: rescale-local.ts holds and places new partitions through it, as does a slot process
// for its slot: rescale/placement.ts).
import type { SourceReader } from '../connectors/api.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

/** Resolves once `fn` ran (and what it returned settled) on every source reader of every slot of `slots`. */
export function inSources(slots: readonly SlotParts[], fn: (r: SourceReader) => unknown): Promise<void> {
  const each = slots.map(
    (parts) =>
      new Promise<void>((resolve, reject) =>
        parts.slot.post(() => {
          Promise.all(parts.sources.map((src) => fn(src.reader))).then(() => resolve(), reject);
        }),
      ),
  );
  return Promise.all(each).then(() => undefined);
}
