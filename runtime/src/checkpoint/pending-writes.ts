// Writes to the state location that the job's end waits for: a checkpoint may be aborted (stop,
// crash, timeout) while its files are still being written, and the caller of run() may remove or
// reuse the state location as soon as it settles. Every write is tracked from its start; a write
// that rejects is only awaited here (its owner handles the error).
export class PendingWrites {
  private readonly writes = new Set<Promise<unknown>>();

  /** Tracks `write` until it settles; returns it. */
  track<T>(write: Promise<T>): Promise<T> {
    this.writes.add(write);
    void write.catch(() => undefined).finally(() => this.writes.delete(write));
    return write;
  }

  /** Resolves once no tracked write is under way, those tracked meanwhile included. */
  async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }
}
