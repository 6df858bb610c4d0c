// The CONTROL messages between slot processes, carried in CONTROL frames of the data plane
// (docs/runtime/distributed.md): the checkpoint RPC and watermark alignment here, the live
// rescale's in their own files (migration, join, drain, placement, and slot pods' link orders).
import type {
  CheckpointAck,
  CheckpointCommitted,
  CheckpointDecline,
  TriggerCheckpoint,
} from '../checkpoint/messages.ts';
import type { DrainRpc } from '../rescale/leave-rpc.ts';
import type { JoinRpc } from '../rescale/join-rpc.ts';
import type { MigrationRpc } from '../rescale/migration-rpc.ts';
import type { PlacementRpc } from '../rescale/placement-rpc.ts';
import type { AlignmentReport } from '../time/watermark-alignment.ts';
import type { LinkOrderRpc } from '../rescale/join-link-order.ts';

/** Checkpoint RPC between slots. */
export type CheckpointRpc =
  | { m: 'ack'; ack: CheckpointAck }
  | { m: 'decline'; decline: CheckpointDecline }
  | { m: 'committed'; committed: CheckpointCommitted }
  | { m: 'trigger'; trigger: TriggerCheckpoint }
  | { m: 'complete'; id: number; final?: boolean }
  | { m: 'aborted'; id: number; reason: string; rewrite?: boolean }
  /** Watermark alignment: the sender's source slots' watermarks, [group, member, watermark] (additive). */
  | { m: 'wm'; reports: AlignmentReport[] };

/** Every CONTROL message between slot processes. */
export type SlotRpc = CheckpointRpc | MigrationRpc | JoinRpc | DrainRpc | PlacementRpc | LinkOrderRpc;
