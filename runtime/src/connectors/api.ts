// Interfaces between connectors and the executor. Sources are polled from the slot's
// mailbox loop and never block it: a reader with nothing to return says so and calls
// `wake()` when data arrives. Sinks receive batches synchronously and report backpressure.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Batch } from '../core/batch.ts';
import type { ReportOutage } from '../core/outage.ts';
import type { RecordOrigin } from '../core/origin.ts';
import type { Rec } from '../core/record.ts';

export interface SourceReaderContext {
  readonly sourceName: string;
  readonly slot: number;
  readonly parallelism: number;
  readonly logger: Logger;
  /**
   * Declares a partition (for per-partition watermarks); returns its index. `watermark`: where its
   * watermark starts (a partition taken over in a live rescale: its old owner's, HandedWatermark).
   */
  addPartition(watermark?: number): number;
  /** A finished partition (no more records, ever): its watermark is +∞. */
  finishPartition(p: number): void;
  /** A partition with no data for now (a slot that owns none yet): idle, it does not hold back the watermark. */
  idlePartition(p: number): void;
  /**
   * Whether a partition is caught up: the reader has returned every record its input holds
   * right now (a Kafka partition fetched up to its log end, nothing left queued). A caught-up
   * partition does not hold its watermark-alignment group back; it still counts for the
   * watermark. Readers clear it when they return the partition's next record.
   */
  partitionCaughtUp(p: number, caughtUp: boolean): void;
  /**
   * Live rescale, a partition handed over: it keeps its watermark as a floor under the source's
   * (no record comes for it again) until the new owner has caught up with it (HandedWatermark).
   */
  floorPartition?(p: number): HandedWatermark;
  /** Live rescale, a partition taken over and declared: `report` gets the barrier at which it caught up. */
  reportCaughtUp?(p: number, report: (barrierId: number) => void): void;
  /** Wakes the slot's loop (call when data becomes available). */
  wake(): void;
  /** Wakes the slot's loop at `time` (epoch ms), e.g. for rate limiting. */
  wakeAt(time: number): void;
  /** Counts a record that could not be read (and was skipped or dead-lettered). */
  recordFailed(reason: string): void;
  /**
   * Positions of this source in every slot of the job that wrote the checkpoint being
   * restored (any parallelism); the reader takes its share. Absent = start fresh.
   */
  readonly restoredPositions?: readonly unknown[];
  /** True when the job takes checkpoints: positions come from checkpoints, not from Kafka groups. */
  readonly checkpointing?: boolean;
  /**
   * The slot joins a running job (live rescale, rescale/join-local.ts): the reader owns nothing at start and takes no
   * partition by discovery; it reads only what a migration step hands over to it, and does not end for owning none.
   */
  readonly joining?: boolean;
  /** Qualifies Kafka consumer group ids (kafka/id-scope.ts): the StreamJob's namespace on a cluster. */
  readonly kafkaIdScope?: string;
  /** Reports records not yet read (e.g. Kafka lag), for metrics. */
  reportLag?(records: number): void;
  /**
   * The reader waits for its input to exist (e.g. a Kafka topic not created yet) and reads
   * once it does; undefined when it no longer waits. Reported in the slot's /v1/status.
   */
  reportWaiting?(waiting: WaitingInput | undefined): void;
  /**
   * The reader cannot reach its external system now and retries within its bound (or
   * undefined: it can again). Shown in the slot's /v1/status and metrics (core/outage.ts).
   */
  readonly reportOutage?: ReportOutage;
}

/** What a source waits for: its topic (or other named input), since when (ISO time). */
export interface WaitingInput {
  readonly topic: string;
  readonly since: string;
}

export interface RawRecords {
  /**
   * `origin`: the source record `rec` was read from (core/origin.ts), for its dead letters; a
   * reader passes one with every record it adds or with none.
   */
  add(rec: Rec, partition: number, origin?: RecordOrigin): void;
  readonly count: number;
}

/** `data`: some records were added; `empty`: none now (the reader wakes the slot later); `end`: finished. */
export type PollResult = 'data' | 'empty' | 'end';

/** A moved partition's watermark as its old owner had it at the hand-over, kept there as a floor. */
export interface HandedWatermark {
  readonly watermark: number;
  /** The new owner caught up at barrier `barrierId`: the floor idles after the first barrier ≥ it (in its loop). */
  releaseAt(barrierId: number): void;
}

/** The new owner's start for a partition taken over: its old owner's watermark, and whom to tell it caught up. */
export interface TakenWatermark {
  readonly watermark: number;
  /** Called in the new owner's loop with the barrier at which the partition no longer holds it back. */
  caughtUp(barrierId: number): void;
}

/** Taken-over partitions' watermarks by Kafka partition. */
export type TakenWatermarks = ReadonlyMap<number, TakenWatermark>;

export interface SourceReader {
  open(ctx: SourceReaderContext): Promise<void>;
  poll(out: RawRecords, max: number): PollResult;
  /**
   * A record the runtime rejected after the reader produced it (e.g. no valid timestamp).
   * Readers with a dead-letter destination send it there; the default is to skip it.
   */
  reject?(rec: Rec, partition: number, reason: string): void;
  /**
   * The position after the last record returned by poll() (JSON), taken at a checkpoint
   * barrier between two polls. Restored through SourceReaderContext.restoredPositions.
   */
  snapshotPosition?(): unknown;
  /** Checkpoint `id` completed (e.g. commit offsets to a group for monitoring). */
  notifyCheckpointComplete?(id: number): void;
  /**
   * A run without checkpoints: every sink of the job acknowledged every record this reader returned
   * up to `position` (its snapshotPosition() then). A reader that keeps its position in its input
   * (a Kafka consumer group) commits it there (at-least-once). Called at each commit barrier
   * (`barrier`: its id; checkpoint/commit-barriers.ts) and, when the job ended without failing and
   * its sinks closed with nothing held in operator state, once more with the final position (no
   * `barrier`; job-run.ts). Calls never overlap, each after the previous one settled, and come
   * before close(); never after a failure.
   */
  commitPosition?(position: unknown, barrier?: number): Promise<void>;
  /**
   * Watermark alignment: stop returning (and fetching) records of these partitions (indices
   * from addPartition) until a later call leaves them out. Readers without it are paused as a
   * whole when every partition they have is.
   */
  setPaused?(partitions: ReadonlySet<number>): void;
  /**
   * The slot's share of a partitioned input (control/contract.ts SourceLoad), read at any time
   * between polls. Readers of inputs without partitions leave it out.
   */
  partitionLoad?(): PartitionLoad;
  /**
   * Live rescale (docs/design/live-rescale.md §3 item 6): the topic whose partitions this reader
   * can hand over to another running slot and take over from one; undefined when they cannot
   * move (readers without it: index sources, whose input is striped by parallelism).
   */
  movableTopic?(): string | undefined;
  /** The partitions of `movableTopic` this reader owns now. */
  ownedPartitions?(): readonly number[];
  /**
   * A live rescale begins (in the slot's loop): take no partition found from now on by yourself (owners are in
   * flux); resolves once a partition assignment under way is done, so `ownedPartitions` is what the plan moves.
   */
  holdNewPartitions?(): Promise<void>;
  /**
   * Resolves once the reader is open and a partition assignment under way is done (without holding new ones):
   * `ownedPartitions` is then what a live migration across processes may move (rescale/migration-prepare.ts).
   */
  partitionsSettled?(): Promise<void>;
  /** The live rescale ended at `parallelism`: partitions found from now on go by the owner rule at it. */
  placeNewPartitions?(parallelism: number): void;
  /**
   * At a barrier, in the slot's loop, after its snapshot: emits nothing of `partitions` from now
   * on. Returns each one's position as of the barrier (the next offset to emit, what the snapshot
   * recorded) and the restart of its input without them.
   */
  handOverPartitions?(partitions: readonly number[]): {
    positions: Map<number, bigint>;
    restarted: Promise<void>;
    /** Each declared partition's watermark floor (readers with per-partition watermarks). */
    watermarks?: Map<number, HandedWatermark>;
  };
  /**
   * After the step's barrier passed this slot, in its loop: owns `positions`' partitions from their
   * positions on (its next snapshot records them), checks them against the input (`from` names
   * where they came from, in errors) and reads them; settles once it does.
   */
  takeOverPartitions?(
    positions: ReadonlyMap<number, bigint>,
    from: string,
    watermarks?: TakenWatermarks,
  ): Promise<void>;
  close(): Promise<void>;
}

/** `partitions` of the input in all (0 while unknown), the `assigned` ones this slot reads, records behind them. */
export interface PartitionLoad {
  readonly partitions: number;
  readonly assigned: number;
  readonly lag: number;
}

export interface SinkWriterContext {
  readonly sinkName: string;
  readonly slot: number;
  readonly parallelism: number;
  readonly logger: Logger;
  /** Wakes the slot's loop (call when backpressure clears). */
  wake(): void;
  readonly jobName?: string;
  /** Qualifies Kafka transactional ids (kafka/id-scope.ts): the StreamJob's namespace on a cluster. */
  readonly kafkaIdScope?: string;
  /**
   * Set when the job takes checkpoints: transactional sinks commit on completion. `restoredStateDir`: the
   * stateDir the restored checkpoint was written under, when it is another one than `stateDir` (a restore
   * from another run's folder): what that run left open must be ended too, its files only read.
   */
  readonly checkpointing?: {
    readonly stateDir: string;
    readonly restoredStateDir?: string;
    /** The restored checkpoint (a recovery that doubts its committables checks it: fenced-checkpoints.ts). */
    readonly restoredFrom?: string;
  };
  /** Committables of the restored checkpoint that this slot must commit before writing (restore). */
  readonly restoredCommittables?: readonly unknown[];
  /**
   * The job's metrics registry, shared by every slot of the process: a sink creates its metrics once per registry
   * (get-or-create).
   */
  readonly registry?: Registry;
  /** The writer cannot reach its external system now and retries within its bound (core/outage.ts). */
  readonly reportOutage?: ReportOutage;
}

/** How a job ends, for sinks with transactions: commit the rest, drop it, or leave it for recovery. */
export type CloseOutcome = 'finished' | 'stopped' | 'failed';

export interface SinkWriter {
  open(ctx: SinkWriterContext): Promise<void>;
  /**
   * Throws for a record the writer could not write (e.g. one its format's schema does not admit): the slot runs it
   * in front of write(), after open(), and such a record goes to the sink's errorOutput or the job's onRecordError.
   */
  readonly checkRecord?: ((rec: Rec) => void) | undefined;
  write(b: Batch): void;
  /** True while the writer wants no more input (the slot stops pulling records). */
  readonly backpressured: boolean;
  /**
   * Two-phase commit, phase 1, at a checkpoint barrier: records written so far belong to
   * checkpoint `checkpointId`; flush them (into a transaction) and resolve with every
   * pre-committed, not yet committed transaction (JSON; stored in the checkpoint metadata).
   * Records written after this call belong to the next checkpoint.
   */
  preCommit?(checkpointId: number): Promise<readonly unknown[]>;
  /** Phase 2: checkpoint `checkpointId` completed; commit everything pre-committed up to it. */
  notifyCheckpointComplete?(checkpointId: number): Promise<void>;
  /** Flushes everything written and releases resources. */
  close(outcome?: CloseOutcome): Promise<void>;
}
