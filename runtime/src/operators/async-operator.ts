// What the executor needs of an operator whose records wait on I/O (AsyncLookupOperator,
// AsyncMapOperator): it runs as a slot task, blocks its task's input while full, and holds a
// checkpoint barrier until nothing waits in it (exec/chain-checkpoint.ts).
export interface AsyncOperator {
  readonly name: string;
  /** False while it holds all it may (or a barrier waits for it): its task takes no more input. */
  readonly writable: boolean;
  /** Records (or in-band elements) are waiting in it. */
  readonly busy: boolean;
  /** Its end has left and nothing waits. */
  readonly done: boolean;
  step(): boolean;
  /** Runs `cb` once nothing waits (at once when nothing does). */
  whenDrained(cb: () => void): void;
}
