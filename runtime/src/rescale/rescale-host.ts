// What slot 0's live-rescale orchestration (rescale-driver.ts) needs from whatever runs its slots:
// a local supervisor (slot-host.ts: it records the intent, starts the joining slots and has every
// running slot link with them) or, for slot pods, slot 0 itself (rescale-host-pods.ts: the operator
// records the intent and creates the joining pod; slot 0 says which pod it waits for and has every
// running slot link with it).
import type { JoiningSlot } from '../core/migration.ts';

export interface RescaleHost {
  /**
   * Parallelism `to` from now on, as part `generation` of a rescale whose whole target is `restartAt` (the
   * parallelism a restart starts with: write-ahead intent). Scaling out (one slot at a time: `to` is the job's
   * parallelism + 1), resolves once every running slot linked with the joining one; scaling in, at once.
   * `awaiting`: the joining slot a host waits for someone else to start (slot pods: the operator), undefined once
   * linked; a host that starts it itself never calls it.
   */
  rescale(
    to: number,
    generation: number,
    restartAt: number,
    awaiting?: (slot: JoiningSlot | undefined) => void,
  ): Promise<void>;
}
