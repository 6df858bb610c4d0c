// A full snapshot of a backend's keyed states (state-format.md, version 2): per key group with
// state, per state, its entries. Written in one go, or (`fullSnapshotLater`) from a disk store's
// read view fixed at the barrier, in slices between which the slot goes on processing records.
//
// Invariants: a section's entry count is the table's size when the snapshot was asked for, and
// the entries written are exactly that many (checked: a mismatch fails the snapshot, never
// writes a file a restore would misread). Entries a disk table stores as a snapshot's bytes
// (ValueCodec.asSnapshot) are copied, not decoded and encoded again: a key is the same UTF-8 a
// snapshot's string holds, a value the same TVE. Written later only when every table can be read
// from the view: a state kept on the heap, or derived from another, changes under the slot.
import { TributaryError } from '../errors.ts';
import type { BinaryWriter } from './binary-writer.ts';
import type { KeyTable, ReadView, StoredEntry } from './key-table.ts';
import type { StateSerializer } from './state-serializer.ts';
import { SnapshotWriter } from './snapshot-format.ts';
import type { SnapshotHeader } from './snapshot-framing.ts';

/** A keyed state as a snapshot reads it (keyed-state.ts KeyedState). */
export interface SnapshotState {
  readonly name: string;
  readonly serializer: StateSerializer<unknown>;
  readonly tables: readonly (KeyTable<unknown> | undefined)[];
  /** Written from that state's tables (KeyedStateBackend.derivedState). */
  readonly writtenFrom: SnapshotState | undefined;
}

/** What a full snapshot covers: the states, their header, the key groups (absolute, ascending). */
export interface FullSnapshotPlan {
  readonly header: SnapshotHeader;
  readonly states: readonly SnapshotState[];
  readonly kgs: readonly number[];
  /** The states' first table index (the backend's span start). */
  readonly base: number;
  readonly sizeHint: number;
  /** How long a slice of a snapshot written later runs before it yields (default SLICE_MS). */
  readonly sliceMs?: number;
}

/**
 * A slice copies entries for about this long before it yields to the slot's loop: long enough
 * that a loop busy with records still leaves the snapshot about half the time (a fixed count of
 * entries per yield took longer than the checkpoint timeout for millions of keys under full
 * load), short enough to add little to a record's latency.
 */
export const SLICE_MS = 40;
/** Entries copied between two looks at the clock. */
const CLOCK_EVERY = 1024;

const pause = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The snapshot of `plan`, written now. */
export function fullSnapshotNow(plan: FullSnapshotPlan): Uint8Array {
  const sw = new SnapshotWriter(plan.header, plan.sizeHint);
  for (const kg of plan.kgs) {
    let open = false;
    plan.states.forEach((s, si) => {
      const t = (s.writtenFrom ?? s).tables[kg - plan.base];
      if (!t || t.size === 0) return;
      if (!open) sw.beginSection(kg);
      open = true;
      sw.w.varuint(si);
      sw.w.varuint(t.size);
      const stored = s.writtenFrom ? undefined : t.stored?.();
      const n = stored ? copyStored(sw.w, stored) : writeDecoded(sw.w, s, t);
      checkCount(s, kg, t.size, n);
    });
    if (open) sw.endSection();
  }
  return sw.finish();
}

/**
 * The snapshot of `plan`, from a read view of the store fixed now, written in slices; undefined
 * (take it now) unless every table of the plan can be read from the view. The view is released
 * once the snapshot is written or failed.
 */
export function fullSnapshotLater(plan: FullSnapshotPlan, openView: () => ReadView): Promise<Uint8Array> | undefined {
  if (plan.states.some((s) => s.writtenFrom)) return undefined;
  const view = openView();
  const sections: Section[] = [];
  for (const kg of plan.kgs) {
    const parts: Section['parts'] = [];
    for (let si = 0; si < plan.states.length; si++) {
      const t = plan.states[si]?.tables[kg - plan.base];
      if (!t || t.size === 0) continue;
      const entries = t.stored?.(view);
      if (!entries) {
        view.done();
        return undefined;
      }
      parts.push({ si, size: t.size, entries });
    }
    if (parts.length > 0) sections.push({ kg, parts });
  }
  return writeSlices(plan, sections, view).finally(() => view.done());
}

interface Section {
  kg: number;
  parts: { si: number; size: number; entries: Iterable<StoredEntry> }[];
}

async function writeSlices(plan: FullSnapshotPlan, sections: Section[], view: ReadView): Promise<Uint8Array> {
  const sw = new SnapshotWriter(plan.header, plan.sizeHint);
  const w = sw.w;
  let copied = 0;
  let sliceStart = performance.now();
  for (const { kg, parts } of sections) {
    sw.beginSection(kg);
    for (const { si, size, entries } of parts) {
      w.varuint(si);
      w.varuint(size);
      let n = 0;
      for (const e of entries) {
        copyEntry(w, e);
        n++;
        if (++copied % CLOCK_EVERY === 0 && performance.now() - sliceStart >= (plan.sliceMs ?? SLICE_MS)) {
          await pause();
          view.check();
          sliceStart = performance.now();
        }
      }
      checkCount(plan.states[si] as SnapshotState, kg, size, n);
    }
    sw.endSection();
  }
  return sw.finish();
}

/** A stored entry as a snapshot holds it: the key's UTF-8 as a string (past the key group), the value's TVE. */
function copyEntry(w: BinaryWriter, e: StoredEntry): void {
  w.varuint(e.key.length - 2);
  w.bytesFrom(e.key, 2);
  w.bytes(e.value);
}

function copyStored(w: BinaryWriter, stored: Iterable<StoredEntry>): number {
  let n = 0;
  for (const e of stored) {
    copyEntry(w, e);
    n++;
  }
  return n;
}

function writeDecoded(w: BinaryWriter, s: SnapshotState, t: KeyTable<unknown>): number {
  const ser = s.serializer;
  let n = 0;
  for (const [key, v] of t) {
    w.string(key);
    if (ser.write) ser.write(w, v);
    else w.value(ser.toJSON(v));
    n++;
  }
  return n;
}

function checkCount(s: SnapshotState, kg: number, size: number, n: number): void {
  if (n !== size)
    throw new TributaryError(
      'TRIB_INVARIANT',
      `snapshot of state "${s.name}", key group ${kg}: ${n} entries read where the table counts ${size}`,
    );
}
