// Runs one source reader inside a slot: polls it without blocking, assigns timestamps,
// tracks per-partition watermarks (bounded out-of-orderness, idleness) and pushes batches
// through the chained operators. It pulls only while every output of its chain is writable.
import type { ReportOutage } from '../core/outage.ts';
import type { Logger } from 'pino';
import type { PartitionLoad, RawRecords, SourceReader, SourceReaderContext, WaitingInput } from '../connectors/api.ts';
import type { SourceSpec } from '../graph/spec.ts';
import { parseDuration } from '../graph/duration.ts';
import { type Output } from '../operators/types.ts';
import { newBatch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import type { RecordOrigin } from '../core/origin.ts';
import { PartitionWatermarks } from '../time/partition-watermarks.ts';
import { timestampExtractor } from '../time/timestamps.ts';
import { listenToAlignment, type SourceAlignment } from './source-alignment.ts';
import { MAX_WATERMARK } from '../core/watermark.ts';
import type { BackpressureClock } from './backpressure-clock.ts';
import type { ChainCheckpoint } from './chain-checkpoint.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';
import type { Slot, Task } from './slot.ts';
import { AlignedPollSize } from './aligned-poll-size.ts';
import { WatermarkHandover } from './watermark-handover.ts';

export interface Writable {
  readonly writable: boolean;
}

export interface SourceTaskOptions {
  spec: SourceSpec;
  reader: SourceReader;
  slot: Slot;
  parallelism: number;
  out: Output;
  /** Channels and sinks this task's chain writes into. */
  outputs: Writable[];
  batchSize: number;
  logger: Logger;
  onRecords(n: number): void;
  onFailed(reason: string): void;
  checkpoint?: ChainCheckpoint; // set when the job takes checkpoints
  restoredPositions?: readonly unknown[];
  checkpointing?: boolean;
  joining?: boolean; // the slot joins a running job (SourceReaderContext.joining)
  onLag?(records: number): void;
  reportOutage?: ReportOutage; // where the reader reports its external system's outages (OutageBoard)
  backpressure?: BackpressureClock;
  /** The job code's timestamp function when `spec.timestamp.assigner` names one (NaN = no valid timestamp). */
  timestampAssigner?: (rec: Rec) => number;
  kafkaIdScope?: string;
  /** Watermark alignment of this source (absent: off). */
  alignment?: SourceAlignment;
}

const IDLE_CHECK_MS = 200;
/** Event time after which a source publishes its watermark inside a poll's records. */
export const WATERMARK_SPAN_MS = 1000;
/**
 * Benchmarks only (bench/event-time.ts), not an option of a job: with `perBatch` set, sources
 * publish their watermark once per poll, after its records — the behaviour before watermarks
 * inside a batch, where a record is judged against the watermark as of its poll's start — so
 * the cost of publishing inside a poll can be measured against it in one run.
 */
export const watermarksForBench = { perBatch: false };

export class SourceTask implements Task, RawRecords {
  readonly name: string;
  readonly sourceName: string;
  done = false;
  private readonly o: SourceTaskOptions;
  readonly wms: PartitionWatermarks; // read outside only for its floors (leave-floors.ts)
  private readonly handover: WatermarkHandover; // live rescale: moved partitions' watermarks
  private readonly extract: ((rec: Rec) => number) | undefined;
  private readonly batch = newBatch();
  private readonly partOf: number[] = [];
  private finishedPartitions: number[] = [];
  private stopRequested: { drain: boolean } | undefined;
  private finalWatermark = false;
  /**
   * Id of the stop-with-savepoint whose barrier this source passed. Until it completes the source reads nothing
   * (its position is the savepoint's); it ends when the savepoint completes and reads on when it is aborted
   * (Flink: a failed stop-with-savepoint leaves the job running, so the caller can retry).
   */
  private pausedForStop: number | undefined;
  private opened = false;
  private lastIdleCheck = 0;
  /** Partitions paused by alignment as last applied to the reader, and the set being computed. */
  private pausedApplied = new Set<number>();
  private pausedNext = new Set<number>();
  private pausedSince: number | undefined;
  private pausedMsTotal = 0;
  /** Aligned sources: how many records to poll. */
  private readonly pollSizer: AlignedPollSize | undefined;
  private readonly leaveAlignment: () => void;
  records = 0;
  /** The earliest wake-up the reader asked for that has not come yet. */
  private wakeAtPending: number | undefined;
  /** What the reader waits for (its input does not exist yet); undefined while it reads. */
  waitingFor: WaitingInput | undefined;

  constructor(o: SourceTaskOptions) {
    this.o = o;
    this.name = `source:${o.spec.name}`;
    this.sourceName = o.spec.name;
    const ts = o.spec.timestamp;
    this.extract = ts ? (o.timestampAssigner ?? timestampExtractor(ts)) : undefined;
    const bound = ts ? (parseDuration(ts.maxOutOfOrderness) ?? 0) : 0;
    const idle = ts?.idleTimeout !== undefined ? parseDuration(ts.idleTimeout) : undefined;
    this.wms = new PartitionWatermarks(bound, idle, {
      watermark: (wm) => o.out.watermark(wm),
      idle: (i) => o.out.idle(i),
    });
    this.handover = new WatermarkHandover(this.wms);
    if (idle !== undefined || !this.extract) this.scheduleIdleCheck();
    this.pollSizer = o.alignment ? new AlignedPollSize(this.wms, o.alignment.driftMs) : undefined;
    this.leaveAlignment = listenToAlignment(o.alignment, () => o.slot.wake());
  }

  get aligned(): boolean {
    return this.o.alignment !== undefined;
  }

  /** Milliseconds this source slot had at least one partition paused by alignment. */
  get alignmentPausedMs(): number {
    return this.pausedMsTotal + (this.pausedSince !== undefined ? Date.now() - this.pausedSince : 0);
  }

  private reportAlignment(): void {
    const a = this.o.alignment;
    if (a) a.hub.report(a.group, a.member, this.done ? MAX_WATERMARK : this.wms.alignmentWatermark());
  }

  /**
   * Pauses the partitions ahead of the group's minimum by more than maxDrift (the reader stops
   * fetching them) and resumes the others. False when nothing may be read now.
   */
  private applyAlignment(): boolean {
    const a = this.o.alignment as SourceAlignment;
    const now = Date.now();
    const next = this.pausedNext;
    this.wms.aheadOf(a.hub.min(a.group) + a.driftMs, now, next);
    let same = next.size === this.pausedApplied.size;
    if (same) for (const p of next) if (!this.pausedApplied.has(p)) same = false;
    if (!same) {
      this.pausedNext = this.pausedApplied;
      this.pausedApplied = next;
      this.o.reader.setPaused?.(next);
      if (next.size > 0 && this.pausedSince === undefined) this.pausedSince = now;
      else if (next.size === 0 && this.pausedSince !== undefined) {
        this.pausedMsTotal += now - this.pausedSince;
        this.pausedSince = undefined;
      }
    }
    return !this.wms.allPaused(this.pausedApplied);
  }

  /** Re-evaluates idleness; without a timestamp field, also moves the watermark with the clock. */
  private scheduleIdleCheck(): void {
    this.o.slot.schedule(Date.now() + IDLE_CHECK_MS, () => {
      if (this.done) return;
      const now = Date.now();
      if (!this.extract && this.opened && this.pausedForStop === undefined) this.wms.advanceClock(now);
      this.wms.emit(now);
      this.reportAlignment();
      this.scheduleIdleCheck();
    });
  }

  readerContext(): SourceReaderContext {
    const slot = this.o.slot;
    return {
      sourceName: this.o.spec.name,
      ...(this.o.kafkaIdScope ? { kafkaIdScope: this.o.kafkaIdScope } : {}),
      slot: slot.index,
      parallelism: this.o.parallelism,
      logger: this.o.logger,
      addPartition: (wm) => this.wms.addPartition(Date.now(), wm),
      ...this.handover.readerContext(),
      // Applied after the records of the current poll are accounted for: a partition must not
      // report idle (and release the watermark) ahead of its own last records.
      finishPartition: (p) => {
        this.finishedPartitions.push(p);
      },
      idlePartition: (p) => this.wms.idlePartition(p),
      // Only alignment reads it, after the poll's records are accounted for (reportAlignment).
      partitionCaughtUp: (p, up) => this.wms.setCaughtUp(p, up),
      wake: slot.wake,
      // One pending wake-up per source: a reader asks again on every idle poll.
      wakeAt: (t) => {
        if (this.wakeAtPending !== undefined && this.wakeAtPending <= t) return;
        this.wakeAtPending = t;
        slot.schedule(t, () => {
          if (this.wakeAtPending === t) this.wakeAtPending = undefined;
        });
      },
      recordFailed: (reason) => this.o.onFailed(reason),
      ...(this.o.restoredPositions ? { restoredPositions: this.o.restoredPositions } : {}),
      checkpointing: this.o.checkpointing ?? false,
      ...(this.o.joining ? { joining: true } : {}),
      ...(this.o.onLag ? { reportLag: this.o.onLag } : {}),
      ...(this.o.reportOutage ? { reportOutage: this.o.reportOutage } : {}),
      reportWaiting: (w) => {
        this.waitingFor = w;
      },
    };
  }

  async open(): Promise<void> {
    await this.o.reader.open(this.readerContext());
    this.opened = true;
  }

  get watermark(): number {
    return this.wms.watermark;
  }

  /** The reader's partitions and lag (StatusResponse.load); undefined for inputs without partitions. */
  partitionLoad(): PartitionLoad | undefined {
    return this.o.reader.partitionLoad?.();
  }

  /** A channel its chain gained (join-channel.ts): the task runs only while every output is writable. */
  addOutput(w: Writable): void {
    this.o.outputs.push(w);
  }

  /** A channel its chain dropped (the consumer's slot drained: leave-local.ts). */
  removeOutput(w: Writable): void {
    if (this.o.outputs.includes(w)) this.o.outputs.splice(this.o.outputs.indexOf(w), 1);
  }

  /** The reader, for a live rescale's partition moves (migration.ts). */
  get reader(): SourceReader {
    return this.o.reader;
  }

  /** The newest event time this source has seen (−∞ before the first record). */
  get newestTimestamp(): number {
    return this.wms.newest;
  }

  /** Stops reading; with `drain` the final watermark fires all pending event-time windows. */
  requestStop(drain: boolean): void {
    this.stopRequested = { drain };
    this.o.slot.wake();
  }

  /**
   * Called from the slot's mailbox, i.e. between two polls: every record polled so far has
   * been pushed downstream, so the reader's position and the barrier cut the stream at the
   * same point. With `stop`, the source pauses after the barrier and ends (no final
   * watermark) once that savepoint completes.
   */
  injectBarrier(b: CheckpointBarrier): boolean {
    if (this.done || !this.opened || !this.o.checkpoint) return false;
    const position = this.o.reader.snapshotPosition?.();
    // The handover acts once the barrier is out (an async operator may hold it): a floor's jump follows it.
    this.o.checkpoint.onBarrier(b, 0, { name: this.o.spec.name, position }, () => this.handover.afterBarrier(b.id));
    if (b.stop) this.pausedForStop = b.id;
    return true;
  }

  /** The stop-with-savepoint `id` was aborted (or never triggered): read on. */
  resumeAfterFailedStop(id: number): void {
    if (this.pausedForStop !== id) return;
    this.pausedForStop = undefined;
    this.o.slot.wake();
  }

  /** The reader's position (after the end: the final one), for a finished task's snapshot. */
  finalPosition(): { name: string; position: unknown } {
    return { name: this.o.spec.name, position: this.o.reader.snapshotPosition?.() };
  }

  /** The source ended with the final watermark (end of input, or a stop with drain): every window fired. */
  get endedWithFinalWatermark(): boolean {
    return this.finalWatermark;
  }

  /** job-run.ts: the sinks closed after all this source returned took its effect: its final position is committed. */
  outputDelivered(): Promise<void> {
    return this.o.reader.commitPosition?.(this.o.reader.snapshotPosition?.()) ?? Promise.resolve();
  }

  /** The reader commits positions itself in a run without checkpoints (job-commit-barriers.ts). */
  get commitsPositions(): boolean {
    return this.o.reader.commitPosition !== undefined;
  }

  /** Every sink acknowledged the records before commit barrier `barrier`: commit `position`, this source's at it. */
  commitPosition(position: unknown, barrier: number): Promise<void> {
    return this.o.reader.commitPosition?.(position, barrier) ?? Promise.resolve();
  }

  notifyCheckpointComplete(id: number): void {
    this.o.reader.notifyCheckpointComplete?.(id);
    if (this.pausedForStop === id) this.finish(false);
  }

  // RawRecords: the reader appends here during poll().
  add(rec: Rec, partition: number, origin?: RecordOrigin): void {
    const b = this.batch;
    b.recs[b.n] = rec;
    this.partOf[b.n] = partition;
    if (origin !== undefined) (b.origins ??= [])[b.n] = origin;
    b.n++;
  }

  get count(): number {
    return this.batch.n;
  }

  step(): boolean {
    if (this.done || !this.opened) return false;
    if (this.stopRequested) {
      this.finish(this.stopRequested.drain);
      return true;
    }
    if (this.pausedForStop !== undefined) return false;
    for (const w of this.o.outputs) {
      if (!w.writable) {
        this.o.backpressure?.blocked();
        return false;
      }
    }
    this.o.backpressure?.running();
    if (this.o.alignment && !this.applyAlignment()) return false;
    const b = this.batch;
    b.n = 0;
    const status = this.o.reader.poll(this, this.pollSizer?.next(this.o.batchSize) ?? this.o.batchSize);
    const n = b.n;
    if (n > 0) {
      const now = Date.now();
      if (this.extract) this.pushInEventTime(n, now);
      else {
        for (let i = 0; i < n; i++) {
          b.ts[i] = now;
          this.wms.onRecord(this.partOf[i] as number, now, now);
        }
        this.records += n;
        this.o.onRecords(n);
        this.o.out.push(b);
      }
      this.applyFinishedPartitions();
      this.wms.emit(now);
      this.lastIdleCheck = now;
    } else {
      this.applyFinishedPartitions();
    }
    if (n === 0 && status === 'empty') {
      const now = Date.now();
      if (now - this.lastIdleCheck >= IDLE_CHECK_MS) {
        this.wms.emit(now);
        this.lastIdleCheck = now;
      }
    }
    this.reportAlignment();
    if (status === 'end') {
      this.finish(true);
      return true;
    }
    return n > 0;
  }

  /**
   * Stamps the polled records with their event time and pushes them so that each record meets
   * the watermark as of the records before it on this source, not as of the poll (Flink
   * generates watermarks per record): before a record that this watermark makes late — and
   * the last one published does not — the records so far are pushed and the watermark is
   * published, so downstream judges the record against it. The watermark is also published
   * whenever it has moved WATERMARK_SPAN_MS of event time, so it advances at a granularity
   * independent of the batch size. A poll with neither is pushed whole.
   */
  private pushInEventTime(n: number, now: number): void {
    const b = this.batch;
    const wms = this.wms;
    const extract = this.extract as (rec: Rec) => number;
    const cuts = !watermarksForBench.perBatch;
    const sizer = this.pollSizer;
    const origins = b.origins;
    let published = wms.watermark;
    let m = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const rec = b.recs[i] as Rec;
      const p = this.partOf[i] as number;
      const ts = extract(rec);
      if (Number.isNaN(ts)) {
        this.o.onFailed('timestamp');
        this.o.reader.reject?.(
          rec,
          p,
          this.o.timestampAssigner
            ? `no valid timestamp from assigner "${this.o.spec.timestamp?.assigner}"`
            : `no valid timestamp in field "${this.o.spec.timestamp?.field}"`,
        );
        continue;
      }
      if (cuts && m > 0) {
        const bound = wms.upperBound;
        if ((ts <= bound && ts > published) || bound - published >= WATERMARK_SPAN_MS) {
          const wm = wms.current();
          if ((ts <= wm && ts > published) || wm - published >= WATERMARK_SPAN_MS) {
            b.n = m;
            this.o.out.push(b);
            total += m;
            m = 0;
            wms.emit(now);
            // The estimate, when above what the valve published, keeps this from cutting again.
            published = Math.max(wms.watermark, wm);
          }
        }
      }
      sizer?.record(p);
      wms.onRecord(p, ts, now);
      b.recs[m] = rec;
      b.ts[m] = ts;
      if (origins) origins[m] = origins[i];
      m++;
    }
    b.n = m;
    if (m > 0) this.o.out.push(b);
    total += m;
    this.records += total;
    this.o.onRecords(total);
    sizer?.learn();
  }

  private applyFinishedPartitions(): void {
    if (this.finishedPartitions.length === 0) return;
    for (const p of this.finishedPartitions) this.wms.finishPartition(p);
    this.finishedPartitions = [];
  }

  private finish(drain: boolean): void {
    if (this.done) return;
    this.done = true;
    this.reportAlignment();
    if (this.pausedSince !== undefined) this.pausedMsTotal += Date.now() - this.pausedSince;
    this.pausedSince = undefined;
    if (drain) this.o.out.watermark(MAX_WATERMARK);
    this.finalWatermark = drain;
    this.o.out.end();
    this.o.checkpoint?.onFinished();
  }

  async close(): Promise<void> {
    this.leaveAlignment(); // a closed slot (a drained one) leaves its group: members do not pile up
    await this.o.reader.close();
  }
}
