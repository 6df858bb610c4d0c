// The file keys retention removed (`chk-<id>/<file>`), which the coordinator checks a checkpoint's
// acknowledgements against before completing it (shared-file-guard.ts).
//
// Invariant: the newest MAX_REMEMBERED keys are kept, the oldest forgotten first. A correct slot
// never references a removed file: retention keeps what the newest completed checkpoint references
// (the base of the one in progress), what the acknowledgements received so far reference, and the
// compacted bases a slot may still adopt (compacted-base.ts). The set is the guard against a fault
// in that reasoning, which would show within a few checkpoints of the removal; kept whole it would
// grow by every file removed for the life of the job.
export const MAX_REMEMBERED = 100_000;

export class RemovedFiles extends Set<string> {
  private readonly max: number;

  constructor(max = MAX_REMEMBERED) {
    super();
    this.max = max;
  }

  override add(key: string): this {
    super.add(key);
    // A Set iterates in insertion order: the first key is the oldest.
    while (this.size > this.max) this.delete(this.values().next().value as string);
    return this;
  }
}
