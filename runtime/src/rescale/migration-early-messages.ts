// A live rescale's messages from other processes (hand-offs, positions) for a barrier whose trigger
// has not reached this process yet (migration.ts binds the step on the trigger, then reads them).
// A barrier whose checkpoint completed or was aborted is never bound later: its messages are dropped
// then, so a process that runs many rescales does not keep those of failed steps for its life.
import type { MigrationRpc } from './migration-rpc.ts';

export class EarlyMigrationMessages {
  private readonly byBarrier = new Map<number, [number, MigrationRpc][]>();

  hold(barrierId: number, from: number, msg: MigrationRpc): void {
    const held = this.byBarrier.get(barrierId);
    if (held) held.push([from, msg]);
    else this.byBarrier.set(barrierId, [[from, msg]]);
  }

  /** The messages held for `barrierId`, in arrival order; forgotten here. */
  take(barrierId: number): [number, MigrationRpc][] {
    const held = this.byBarrier.get(barrierId) ?? [];
    this.byBarrier.delete(barrierId);
    return held;
  }

  /** Drops the messages of every barrier `stale` says no trigger will bind here any more. */
  forget(stale: (barrierId: number) => boolean): void {
    for (const b of this.byBarrier.keys()) if (stale(b)) this.byBarrier.delete(b);
  }

  /** Messages held (for tests and status). */
  get size(): number {
    let n = 0;
    for (const held of this.byBarrier.values()) n += held.length;
    return n;
  }
}
