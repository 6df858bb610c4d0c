// Messages between the checkpoint coordinator (slot 0) and the slots. They are plain JSON
// (no classes, no Uint8Array): the in-process job calls the ports directly, a distributed
// deployment carries the same objects over HTTP/TCP. State bytes never travel in messages:
// each slot writes its own files into the checkpoint directory (a shared volume) and
// acknowledges with handles (file name, size, checksum).
import type { KeyGroupRange } from '../state/key-groups.ts';
import type { SnapshotIndex } from '../state/snapshot-index.ts';

export type CheckpointKind = 'checkpoint' | 'savepoint';

/** Coordinator → every slot: inject barrier `checkpointId` at your sources. */
export interface TriggerCheckpoint {
  readonly checkpointId: number;
  readonly timestamp: number;
  readonly kind: CheckpointKind;
  /** Stop-with-savepoint: sources end right after the barrier. */
  readonly stop: boolean;
  /** Absolute directory of this checkpoint; the slot writes its state files there. */
  readonly dir: string;
  /**
   * A live rescale's step rides on this barrier (slots in other processes; additive): each slot
   * binds it on receiving the trigger, before its sources inject the barrier (rescale/migration.ts).
   */
  readonly migrationStep?: MigrationStepOnWire;
  /**
   * Incremental checkpoints (additive): the newest completed checkpoint when this one was
   * triggered. A slot that acknowledged it may write its keyed state as deltas on it.
   */
  readonly base?: number;
}

/** A migration step as it travels with a trigger (plain JSON; rescale/plan.ts's MigrationStep without sizes). */
export interface MigrationStepOnWire {
  readonly index: number;
  readonly keyGroups: readonly { keyGroup: number; from: number; to: number }[];
  readonly partitions: readonly { source: string; topic: string; partition: number; from: number; to: number }[];
}

/** Where one keyed operator's snapshot of one slot lives (relative to the checkpoint directory). */
export interface KeyedStateHandle {
  readonly file: string;
  readonly size: number;
  /** SHA-256 (hex) of the file's bytes. */
  readonly sha256: string;
  readonly keyGroupRange: KeyGroupRange;
  /**
   * The key groups the file holds, inclusive [start, end] runs ascending, inside `keyGroupRange`
   * (which is the span of its snapshot: after a live rescale it may have holes). A restore reads
   * a key group only from the file that lists it. Absent in checkpoints written before it: then
   * the file holds its whole range.
   */
  readonly keyGroups?: [number, number][];
  /** Where each key group's section lies in the file (state-format.md, "Key-group index"). */
  readonly index?: SnapshotIndex;
  /**
   * Incremental checkpoints (additive): the sibling checkpoint folder that holds `file`
   * (`chk-<id>`), absent when it is this checkpoint's own folder.
   */
  readonly from?: string;
  /** Incremental checkpoints (additive): delta files applied on top of `file`, oldest first. */
  readonly deltas?: KeyedStateDelta[];
}

/** A delta file of an incremental checkpoint (state-format.md, "Delta files"). */
export type KeyedStateDelta = Omit<KeyedStateHandle, 'deltas'>;

/** Slot → coordinator: this slot's part of checkpoint `checkpointId` is durable. */
export interface CheckpointAck {
  readonly slot: number;
  readonly checkpointId: number;
  /** Keyed state per step name. */
  readonly operators: Readonly<Record<string, KeyedStateHandle>>;
  /** Source position per source name (JSON, connector-specific: Kafka offsets, record index). */
  readonly sources: Readonly<Record<string, unknown>>;
  /** Pre-committed, not yet committed sink transactions per sink name (JSON, connector-specific). */
  readonly sinks: Readonly<Record<string, readonly unknown[]>>;
  /** Bytes written by this slot. */
  readonly stateSize: number;
  /** Longest barrier alignment among the slot's tasks (ms). */
  readonly alignmentMs: number;
  /**
   * Every task of the slot had finished (end of input) when its snapshot was taken: nothing
   * after this checkpoint can change the slot's output. A checkpoint all of whose acks are
   * finished is the job's final checkpoint.
   */
  readonly finished?: boolean;
  /** Where this slot's time went (additive: an ack without it counts as zeros). */
  readonly phases?: SlotPhases;
}

/**
 * One slot's part of a checkpoint's duration (ms, this slot's clock):
 *   alignMs     trigger received → the barrier aligned and passed at every task of the slot
 *               (serialization excluded);
 *   snapshotMs  keyed state serialized, summed over the slot's tasks (synchronous, in the mailbox);
 *   uploadMs    every task snapshotted → state files written and sinks pre-committed (the ack).
 */
export interface SlotPhases {
  readonly alignMs: number;
  readonly snapshotMs: number;
  readonly uploadMs: number;
}

/** Slot → coordinator: the sinks of this slot committed checkpoint `checkpointId` (after notifyComplete). */
export interface CheckpointCommitted {
  readonly slot: number;
  readonly checkpointId: number;
}

/** Slot → coordinator: this slot cannot complete checkpoint `checkpointId`. */
export interface CheckpointDecline {
  readonly slot: number;
  readonly checkpointId: number;
  readonly reason: string;
}

/** What a slot offers the coordinator (in-process: direct calls; distributed: RPC). */
export interface SlotCheckpointPort {
  trigger(msg: TriggerCheckpoint): void;
  /**
   * Checkpoint `checkpointId` is complete (its metadata is written): sinks commit. `final`:
   * every slot acknowledged it with all tasks finished (end of input): the slot may exit.
   */
  notifyComplete(checkpointId: number, final?: boolean): void;
  /**
   * Checkpoint `checkpointId` was aborted. `rewrite`: it referenced a file retention removed, so
   * the slot's next snapshot of each step is full (incremental-chains.ts).
   */
  notifyAborted(checkpointId: number, reason: string, rewrite?: boolean): void;
}

/** What the coordinator offers the slots. */
export interface CoordinatorPort {
  acknowledge(ack: CheckpointAck): void;
  decline(msg: CheckpointDecline): void;
  /** Optional (timing only): a slot's sinks committed a completed checkpoint. */
  committed?(msg: CheckpointCommitted): void;
}
