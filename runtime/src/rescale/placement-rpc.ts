// The messages that keep every slot's placement of newly found Kafka partitions in step with a live
// rescale across threads, processes and pods (docs/design/live-rescale.md §5, "Partitions found
// during a rescale"; connectors/kafka/partition-assignment.ts). They ride in CONTROL frames of the
// data plane beside the migration's (migration-rpc.ts).
//   mig-hold   slot 0 → every running slot, before the plan's checkpoint: take no partition found from
//              now on by yourself (owners are in flux);
//   mig-held   that slot → slot 0, once its sources hold and any assignment under way is done: what it
//              owns is in every later snapshot, so the plan moves it (`error`: why it could not);
//   mig-place  slot 0 → every slot of the job at `parallelism`, once the rescale is done: partitions
//              found from now on go by the owner rule at `parallelism`, as a restart at it would place them.
export type PlacementRpc =
  | { m: 'mig-hold'; id: number }
  | { m: 'mig-held'; id: number; slot: number; error?: string }
  | { m: 'mig-place'; parallelism: number };

export function isPlacementRpc(msg: { m: string }): msg is PlacementRpc {
  return msg.m === 'mig-hold' || msg.m === 'mig-held' || msg.m === 'mig-place';
}
