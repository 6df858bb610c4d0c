// Checkpoint triggers for a slot process's slot that wait for a live migration (migration.ts):
// a slot taking partitions over in step k gets their positions from the old owner over that link,
// and the next checkpoint's trigger from slot 0 over another, so the trigger may come first. Its
// barrier must not pass the slot's source before the take-over started (PartitionOffsets.start), or
// that checkpoint would record the partition at no slot at all (the old owner released it at step k's
// barrier). Triggers are held in arrival order and released, in that order, once none waits.
export class HeldTriggers {
  private readonly held: [number, () => void][] = [];
  /** Whether checkpoint `id`'s barrier must still wait (a take-over of an earlier step lacks positions). */
  private readonly waits: (id: number) => boolean;

  constructor(waits: (id: number) => boolean) {
    this.waits = waits;
  }

  /** Runs `go` (checkpoint `id`'s trigger) now, or once it and every trigger held before it may go. */
  hold(id: number, go: () => void): void {
    this.held.push([id, go]);
    this.release();
  }

  /** Something a held trigger waited for arrived. */
  release(): void {
    for (let next = this.held[0]; next !== undefined && !this.waits(next[0]); next = this.held[0]) {
      this.held.shift();
      next[1]();
    }
  }
}
