// The checkpoint barrier. It travels in-band on every channel, in order with the records
// (core/channel.ts): it separates the records before checkpoint N from those after it. Plain
// JSON, so a TCP channel encodes it like a watermark (a tag and JSON.stringify).

/**
 * An aligned checkpoint barrier (Flink's CheckpointBarrier). Injected at the sources by the
 * coordinator, forwarded by every task once it has snapshotted (after alignment).
 */
export interface CheckpointBarrier {
  /** Checkpoint id, monotonic for the life of the job's state (across restarts). */
  readonly id: number;
  /** Trigger time at the coordinator (epoch ms). */
  readonly timestamp: number;
  /** Savepoints share the mechanism; only storage location and retention differ. */
  readonly kind: 'checkpoint' | 'savepoint';
  /** Stop-with-savepoint: sources end (without a final watermark) right after this barrier. */
  readonly stop?: boolean;
  /** Incremental checkpoints: the checkpoint a task's keyed state may be a delta on (TriggerCheckpoint.base). */
  readonly base?: number;
}
