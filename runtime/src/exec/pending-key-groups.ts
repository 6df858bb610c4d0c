// The pending-key-group gate of a live rescale (docs/design/live-rescale.md, "The protocol of
// one step", 4): at the new owner, records of a key group whose state is not installed yet wait
// here, in arrival order, and are released once it is; records of every other key group pass.
//
// Invariants:
// - a held record is released only after its key group's state is installed, and held records
//   are released in the order they arrived (per producer: the order it sent them);
// - a record of a key group that is not pending is never held;
// - the gate that owns this takes no watermark, idle marker, barrier or end while anything is
//   pending (gate-task.ts): a watermark must not pass a held record (its window would fire
//   without it), and the next checkpoint's snapshot must include the installed key groups.
import { newBatch, type Batch } from '../core/batch.ts';

export class PendingKeyGroups {
  /** Per key group: 0 passes, 1 waits for its state, 2 installed but held until none waits. */
  private readonly pending: Uint8Array;
  private count = 0;
  /** Held records in arrival order, each with the head operator's input it came in on. */
  private readonly held: { input: number; batch: Batch }[] = [];

  constructor(maxParallelism: number) {
    this.pending = new Uint8Array(maxParallelism);
  }

  /** True while some key group waits for its state. */
  get active(): boolean {
    return this.count > 0;
  }

  /** Records held now (for tests and diagnostics). */
  get heldRecords(): number {
    let n = 0;
    for (const h of this.held) n += h.batch.n;
    return n;
  }

  add(kgs: readonly number[]): void {
    for (const kg of kgs)
      if (this.pending[kg] === 0) {
        this.pending[kg] = 1;
        this.count++;
      }
  }

  /**
   * Keeps the records of pending key groups of `b` (copied: `b` belongs to the caller) and
   * returns the others, or undefined when none pass. `b` itself is returned when none is held.
   */
  split(input: number, b: Batch): Batch | undefined {
    const p = this.pending;
    let held: Batch | undefined;
    let pass: Batch | undefined;
    for (let i = 0; i < b.n; i++) {
      const kg = b.kgs[i] as number;
      if (p[kg] !== 0) {
        if (!held) {
          held = newBatch();
          // Records before the first held one pass.
          pass = newBatch();
          for (let j = 0; j < i; j++) copy(b, j, pass);
        }
        copy(b, i, held);
      } else if (pass) copy(b, i, pass);
    }
    if (!held) return b;
    this.held.push({ input, batch: held });
    return pass && pass.n > 0 ? pass : undefined;
  }

  /**
   * Key groups `kgs` are installed. While others still wait, their records keep being held (a
   * record of an installed key group passing its held predecessors would reorder the key group);
   * once none waits, returns every held record in arrival order and holds nothing more.
   */
  installed(kgs: readonly number[]): { input: number; batch: Batch }[] {
    for (const kg of kgs)
      if (this.pending[kg] === 1) {
        this.pending[kg] = 2;
        this.count--;
      }
    if (this.count > 0) return [];
    this.pending.fill(0);
    return this.held.splice(0);
  }
}

function copy(from: Batch, i: number, to: Batch): void {
  const j = to.n++;
  to.recs[j] = from.recs[i] as Batch['recs'][number];
  to.ts[j] = from.ts[i] as number;
  to.keys[j] = from.keys[i] as string;
  to.kgs[j] = from.kgs[i] as number;
  if (from.origins) (to.origins ??= [])[j] = from.origins[i];
}
