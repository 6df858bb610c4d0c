// The messages of a scale in across slot processes (docs/runtime/distributed.md, "Scale in across slot processes"):
// they ride in CONTROL frames of the data plane beside the checkpoint RPC and the migration's (migration-rpc.ts).
// Slots `from`..`to`−1 leave a job of `to` slots, after a migration moved everything off them.
//   mig-drain    slot 0 → every slot: remaining slots end their channels to the leaving ones; leaving slots end
//                their sources (leave-across.ts endChannels / endSources);
//   mig-drained  a leaving slot → slot 0: every task of it ended (its loop ended), or why not (`error`);
//   mig-leave    slot 0 → every slot, once checkpoint `checkpointId` (triggered after every mig-drained) completed,
//                the leaving slots' sinks committed it, and slot 0 dismissed them from the checkpoint membership:
//                it was the leaving slots' final checkpoint; the remaining slots' gates drop their ended inputs;
//   mig-left     a leaving slot → every other slot, after its job finished (sinks closed 'finished'), just before
//                it retires its links (BYE): the peers remove it from their data planes.
export type DrainRpc =
  | { m: 'mig-drain'; from: number; to: number }
  | { m: 'mig-drained'; slot: number; error?: string }
  | { m: 'mig-leave'; from: number; to: number; checkpointId: number }
  | { m: 'mig-left'; slot: number };

export function isDrainRpc(msg: { m: string }): msg is DrainRpc {
  return ['mig-drain', 'mig-drained', 'mig-leave', 'mig-left'].includes(msg.m);
}
