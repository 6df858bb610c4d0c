// A checkpoint the coordinator has triggered and not yet completed or aborted (coordinator.ts).
import type { CompletedCheckpoint } from './completion-history.ts';
import type { TributaryError } from '../errors.ts';
import type { Members } from './membership.ts';
import type { CheckpointAck, CheckpointKind } from './messages.ts';

export interface Pending {
  id: number;
  kind: CheckpointKind;
  stop: boolean;
  dir: string;
  startedAt: number;
  triggeredAt: string;
  /**
   * Where it stands when the timeout fires: recording its id or writing its metadata, the
   * storage did not answer (no slot is to blame); between, slots have not all acknowledged.
   */
  phase: 'recording-id' | 'slots' | 'metadata';
  /** The slots it was triggered at: it waits for their acknowledgements only (membership.ts). */
  members: Members;
  acks: Map<number, CheckpointAck>;
  /** performance.now() of the last ack (the commit phase starts there). */
  lastAckAt: number;
  timer: NodeJS.Timeout | undefined;
  resolve(c: CompletedCheckpoint): void;
  reject(e: TributaryError): void;
}

/** An abort's log level, whether the storage did not answer, whether the job is stopping (not a failure). */
/** `rewrite`: the checkpoint referenced a removed file, so slots write their next snapshots whole. */
export type AbortHow = { level?: 'warn' | 'info'; storage?: boolean; stopping?: boolean; rewrite?: boolean };
