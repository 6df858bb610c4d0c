// Kafka source (kafkajs). Each slot reads the partitions it owns (partitionOwner) through its own consumer group
// `<groupId>.slot-<s>-of-<p>.<run>` whose assigner hands exactly those partitions to it, so the assignment never
// depends on group rebalancing. That group never commits (no autoCommit): every owned partition is sought to an
// explicit start (start-positions.ts), and until a seek takes effect records below the next expected offset drop.
//
// With checkpoints, offsets live in checkpoint state (Flink's KafkaSource): the position is "next offset to emit" per
// owned partition, taken at the barrier between two polls; a restore at any parallelism gives every slot the union of
// old positions and it takes the partitions it owns now (lag: a metric, and with the partition counts /v1/status load).
// Without checkpoints the position lives in the source's group `<groupId>` (offset-commits.ts), the same at every
// parallelism: the source commits it itself, only once the sinks acknowledged what it read (at commit barriers).
//
// A topic that does not exist yet is waited for (topic-watch.ts): the slot runs, reads nothing, holds back the
// watermark, reports what it waits for (reportWaiting → /v1/status) and warns (again every 30 s); it reads once the
// topic exists. Every wait is bounded (source-bounds.ts: `topicMissingTimeout`, `brokerUnreachableTimeout`), then it
// fails with TRIB_CONNECTOR_FAILED. A running source looks for partitions added to its topic every
// `partitionDiscoveryInterval` (default 30 s; bounded reads never): a new one goes to its owner slot, starts at its
// earliest offset, and the owner replaces its consumer to take it. A slot that owns no partition is idle (it does not
// hold back the watermark) and keeps looking; with discovery off it ends, as a bounded read does, unless a live rescale
// may give it some: it handed partitions over (partition-handover.ts) or joined owning none (SourceReaderContext).
//
// A position past a partition's log end (the topic deleted and created again, or truncated), or the topic vanishing
// and coming back under a running source, fails it with TRIB_SOURCE_POSITION_INVALID: a new log's offsets restart at
// 0, and reading on would skip its first records silently (start-positions.ts).
//
// Fetched records wait in one queue per partition (partition-queues.ts); offsets and positions are kept by
// partition-offsets.ts; caught-up partitions (caught-up-partitions.ts) do not hold their alignment group back. The
// kafkajs consumer (consumer-loop.ts) runs on the slot's thread, or (opt-in) on a fetch thread of its own
// (fetch-thread.ts); either way the slot's thread alone decides what is accepted, queued and checkpointed.
//
// Records are decoded in the slot's loop (not in kafkajs callbacks; registry formats: registry-decoding.ts). One that
// can't be decoded (or has no valid timestamp) is counted and skipped or dead-lettered as it was read (its headers too,
// the error and its origin in ours); it never fails the job. With an errorOutput records carry their origin.
import { scopedKafkaId } from './id-scope.ts';
import { randomUUID } from 'node:crypto';
import { assertReadCommittedFix } from './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { Rec } from '../../core/record.ts';
import type { PartitionLoad, PollResult, RawRecords, SourceReader } from '../api.ts';
import type { SourceReaderContext, TakenWatermarks } from '../api.ts';
import { checkTakenOver, handOver, takeOver, type HandedOver } from './partition-handover.ts';
import { WatermarkPartitions } from './watermark-partitions.ts';
import { CaughtUpPartitions } from './caught-up-partitions.ts';
import { brokerList, clientBounds, createKafka } from './client.ts';
import { PartitionAssignment } from './partition-assignment.ts';
import type { FetchHandler } from './consumer-loop.ts';
import { fetchThreadEnabled } from './fetch-thread.ts';
import { SlotConsumer } from './slot-consumer.ts';
import { DeadLetterTopic } from './dead-letter.ts';
import { PolledOriginals } from './polled-originals.ts';
import { topicPartitions } from './admin-lookups.ts';
import { SourceGroupOffsets } from './offset-commits.ts';
import { PartitionOffsets } from './partition-offsets.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';
import { ValueDecoder, type SourceOptions } from './registry-decoding.ts';
import { intakeFor, originOf, takeInFetch, type Intake } from './fetch-intake.ts';
import { recreatedTopic, restoredOffsets, startsOf } from './start-positions.ts';
import { TopicWatch, type WatchBounds } from './topic-watch.ts';
import * as limits from './source-bounds.ts';

export const DEFAULT_DISCOVERY_MS = 30_000; // also sets the unread-partition alarm's grace (exec/unowned-partitions.ts)

export class KafkaSource implements SourceReader {
  private readonly spec: KafkaSourceSpec;
  private ctx!: SourceReaderContext;
  private kafka!: KafkaClient;
  private admin: Admin | undefined;
  /** The topic watch's own admin: no kafkajs retries, the watch retries (and bounds) each check itself. */
  private watchAdmin: Admin | undefined;
  private watch: TopicWatch | undefined;
  private readonly consumer = new SlotConsumer(
    () => ({
      kafka: this.kafka,
      clientId: this.clientId,
      logger: this.ctx.logger,
      name: this.name,
      fetchThread: this.fetchThread,
      keepHeaders: this.intake.keepHeaders,
      requestTimeoutMs: clientBounds(this.spec).requestTimeoutMs,
    }),
    (current) => this.handlerFor(current),
    () => this.pausedKafkaPartitions(),
  );
  /** The consumer runs on a fetch thread (fetch-thread.ts), not the slot's. */
  private fetchThread = false;
  /** Watermark partitions alignment paused (re-applied to a replaced consumer). */
  private pausedIdx: ReadonlySet<number> = new Set();
  private dlq: DeadLetterTopic | undefined;
  /** With a dead-letter topic: what this poll's records were read as, for reject(). */
  private originals: PolledOriginals | undefined;
  /** Without checkpoints: the group the position is committed to. */
  private group: SourceGroupOffsets | undefined;
  private readonly queues: PartitionQueues;
  private readonly offsets: PartitionOffsets;
  private readonly wm = new WatermarkPartitions();
  /** Which partitions found at start or by discovery this slot takes (live rescale changes it). */
  private assignment!: PartitionAssignment;
  /** The assignment of partitions found under way (a rescale waits for it before it plans). */
  private assigning: Promise<void> = Promise.resolve();
  /** Open's first assignment is done: before it, the slot owns no partition a plan could move. */
  private readonly firstAssigned = Promise.withResolvers<void>();
  private readonly bounded: boolean;
  private discoveryMs = 0;
  private owned: number[] = [];
  /** The topic was found and its partitions assigned (before: waiting, or opening). */
  private assigned = false;
  private opened = false;
  /** Since when the topic has been missing (ISO); undefined once it exists. */
  private waitingSince: string | undefined;
  private restored: Map<number, bigint> | undefined;
  private failure: unknown;
  /** The watch gave up, or taking the partitions it found failed: the source fails with it. */
  private watchFailure: TributaryError | undefined;
  private bounds!: WatchBounds;
  private closed = false;
  private readonly caughtUp = new CaughtUpPartitions();
  /** keepBytes: records keep their bytes (graph/pass-through.ts); origins: their origin (core/origin.ts). */
  private readonly opts: SourceOptions;
  private intake: Intake = { keepHeaders: false }; // headers, origins (fetch-intake.ts)
  private decoder!: ValueDecoder;

  constructor(spec: KafkaSourceSpec, opts: SourceOptions = {}) {
    this.spec = spec;
    this.opts = opts;
    this.bounded = spec.bounded === 'latest';
    this.queues = new PartitionQueues();
    this.offsets = new PartitionOffsets(this.bounded);
  }

  /** The slot's fetching group of this run (never committed to). */
  private get fetchGroupId(): string {
    const base = scopedKafkaId(this.ctx.kafkaIdScope, this.spec.groupId ?? `tributary-${this.ctx.sourceName}`);
    return `${base}.slot-${this.ctx.slot}-of-${this.ctx.parallelism}.${randomUUID().slice(0, 8)}`;
  }

  private get clientId(): string {
    return this.spec.clientId ?? `tributary-${this.ctx.sourceName}-${this.ctx.slot}`;
  }

  /** Names the source and slot in errors. */
  private get name(): string {
    return `source "${this.ctx.sourceName}" (slot ${this.ctx.slot})`;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    assertReadCommittedFix(`kafka source ${ctx.sourceName}`);
    this.ctx = ctx;
    const { topic } = this.spec;
    this.discoveryMs = this.bounded ? 0 : (parseDuration(this.spec.partitionDiscoveryInterval) ?? DEFAULT_DISCOVERY_MS);
    this.restored = ctx.checkpointing ? restoredOffsets(ctx.restoredPositions, topic) : undefined;
    this.assignment = new PartitionAssignment(topic, ctx.slot, ctx.parallelism, ctx.joining === true);
    this.fetchThread = fetchThreadEnabled();
    this.bounds = limits.sourceBounds(this.spec);
    this.decoder = new ValueDecoder(this.spec, this.opts, this.name, () => ctx.wake());
    await this.decoder.open();
    const waiter = this.waiter;
    const kafkajsBounds = clientBounds(this.spec); // requestTimeout; retries stay kafkajs's
    this.kafka = createKafka(this.spec.brokers, this.clientId, ctx.logger, kafkajsBounds);
    if (!ctx.checkpointing) this.group = new SourceGroupOffsets(this.kafka, this.spec, ctx, this.name);
    const warn = limits.warnTrouble(ctx.logger, waiter, this.bounds, ctx.reportOutage);
    const watchKafka = createKafka(this.spec.brokers, this.clientId, ctx.logger, { ...kafkajsBounds, retries: 0 });
    const { admin, watchAdmin, first } = await limits.openAdmins(this.kafka, watchKafka, this.bounds, waiter, warn);
    ctx.reportOutage?.(undefined);
    this.admin = admin;
    this.watchAdmin = watchAdmin;
    if (this.spec.onError === 'deadLetter') {
      this.dlq = new DeadLetterTopic(
        this.kafka,
        this.spec.deadLetterTopic as string,
        { topic, source: ctx.sourceName },
        ctx.logger,
        () => ctx.recordFailed('dead_letter_failed'),
      );
      await this.dlq.connect();
      this.originals = new PolledOriginals();
    }
    this.intake = intakeFor(topic, this.dlq !== undefined, this.opts.origins === true ? ctx.sourceName : undefined);
    this.watch = new TopicWatch({
      fetch: () => topicPartitions(watchAdmin, topic),
      discoveryMs: this.discoveryMs,
      onMissing: () => this.topicMissing(),
      onPartitions: (all) => this.assign(all),
      // Each failed check at debug; the watch warns about the trouble at most every warnEveryMs.
      onError: (e) =>
        ctx.logger.debug(
          { source: ctx.sourceName, slot: ctx.slot, topic, err: (e as Error).message },
          'kafka source: partition discovery failed; retrying',
        ),
      bounds: this.bounds,
      onWarn: warn,
      onRecovered: (kind) => {
        if (kind === 'unreachable') ctx.reportOutage?.(undefined);
      },
      onGiveUp: (t) => {
        this.watchFailure = limits.troubleFailure(waiter, t, this.bounds);
        ctx.wake();
      },
    });
    await this.watch.begin(first);
    this.opened = true;
    this.firstAssigned.resolve();
  }

  /** Who waits, in warnings and failures. */
  private get waiter(): limits.Waiter {
    const { sourceName: source, slot } = this.ctx;
    return { source, slot, topic: this.spec.topic, brokers: brokerList(this.spec.brokers).join(',') };
  }

  /** Reported to /v1/status once per wait (the watch warns). */
  private topicMissing(): void {
    if (this.waitingSince !== undefined) return;
    this.waitingSince = new Date().toISOString();
    this.ctx.reportWaiting?.({ topic: this.spec.topic, since: this.waitingSince });
  }

  /** Takes the owned partitions of `all` not taken yet: start positions, then a consumer that reads them. */
  private async assign(all: number[]): Promise<void> {
    const done = this.assigning.then(() => this.assignNew(all));
    this.assigning = done.catch(() => undefined);
    try {
      await done;
    } catch (e) {
      if (!this.opened) throw e;
      this.watchFailure =
        e instanceof TributaryError ? e : new TributaryError('TRIB_CONNECTOR_FAILED', String(e), { cause: e });
      this.ctx.wake();
    }
  }

  private async assignNew(all: number[]): Promise<void> {
    const { ctx } = this;
    const { topic } = this.spec;
    const admin = this.admin as Admin;
    const added = this.assignment.toTake(all, (p) => this.offsets.owns(p), ctx.logger, ctx.sourceName);
    if (added.length === 0) this.offsets.topicPartitions = all.length; // else with their positions, below
    const first = !this.assigned;
    if (!first && added.length === 0 && this.waitingSince === undefined) return;
    if (!first && this.waitingSince !== undefined) recreatedTopic(ctx.sourceName, topic, this.owned, this.offsets);
    const { starts, toCommit } = await startsOf({
      admin,
      source: ctx.sourceName,
      topic,
      added,
      group: this.group,
      restored: this.restored,
      startFrom: this.spec.startFrom ?? 'earliest',
      initial: first && this.waitingSince === undefined,
    });
    for (const s of starts) this.offsets.start(s.partition, s.start, s.high);
    this.offsets.topicPartitions = all.length;
    await this.group?.commit(toCommit); // safe: nothing below a start is read (offset-commits.ts)
    this.owned = [...this.owned, ...added].sort((a, b) => a - b);
    this.wm.add(added);
    this.assigned = true;
    const log = { source: ctx.sourceName, slot: ctx.slot, topic, partitions: this.owned };
    if (first) {
      if (this.waitingSince !== undefined)
        ctx.logger.info({ ...log, waitedSince: this.waitingSince }, 'kafka source: the topic exists now; reading');
      else ctx.logger.info(log, 'kafka source assigned partitions');
    } else if (added.length > 0)
      ctx.logger.info({ ...log, added }, 'kafka source: new partitions of the topic assigned');
    else ctx.logger.info(log, 'kafka source: the topic exists again');
    if (this.waitingSince !== undefined) {
      this.waitingSince = undefined;
      ctx.reportWaiting?.(undefined);
    }
    if (added.length > 0) await this.nextConsumer();
    ctx.wake();
  }

  /** A bounded read's partitions do not move (their end offsets would have to go with them). */
  readonly movableTopic = (): string | undefined => (this.bounded ? undefined : this.spec.topic);
  readonly ownedPartitions = (): readonly number[] => this.owned;
  readonly partitionsSettled = (): Promise<void> => this.firstAssigned.promise.then(() => this.assigning);
  /** Live rescale begins: takes no partition it finds by itself; resolves once an assignment under way is done. */
  readonly holdNewPartitions = (): Promise<void> => {
    this.assignment.hold();
    return this.assigning;
  };
  /** Live rescale done: partitions found from now on go by the owner rule at `parallelism`. */
  readonly placeNewPartitions = (parallelism: number): void => this.assignment.place(parallelism);

  /** Live rescale, at a barrier in the slot's loop (partition-handover.ts): emits nothing of `parts` from now on. */
  handOverPartitions(parts: readonly number[]): HandedOver {
    const positions = handOver(this.queues, this.offsets, parts, this.name, this.ctx.logger);
    this.assignment.handedOver(parts);
    const watermarks = this.wm.removeAll(this.ctx, parts);
    this.owned = this.owned.filter((p) => !positions.has(p));
    return { positions, restarted: this.failing(this.nextConsumer()), watermarks };
  }

  /** Live rescale, after the step's barrier passed this slot: emits `positions`' partitions from there on. */
  takeOverPartitions(positions: ReadonlyMap<number, bigint>, from: string, wms?: TakenWatermarks): Promise<void> {
    takeOver(this.offsets, positions, this.name, from, this.ctx.logger);
    this.assignment.takenOver(positions.keys());
    this.owned = [...this.owned, ...positions.keys()].sort((a, b) => a - b);
    this.wm.add([...positions.keys()], wms);
    const checked = checkTakenOver(this.admin as Admin, this.ctx.sourceName, this.spec.topic, positions, from);
    return this.failing(checked.then(() => this.nextConsumer()));
  }

  /** `work`'s failure fails the source (at its next poll) and is passed on. */
  private failing(work: Promise<void>): Promise<void> {
    return work.catch((e: unknown) => {
      this.watchFailure ??=
        e instanceof TributaryError ? e : new TributaryError('TRIB_CONNECTOR_FAILED', String(e), { cause: e });
      this.ctx.wake();
      throw e;
    });
  }

  /** A consumer for every owned partition still to read (slot-consumer.ts), after the replacements asked for before. */
  private nextConsumer(): Promise<void> {
    return this.consumer.replace(() => ({
      topic: this.spec.topic,
      brokers: brokerList(this.spec.brokers),
      groupId: this.fetchGroupId,
      seeks: this.owned
        .filter((p) => !this.bounded || this.offsets.hasEnd(p))
        .map((p) => [p, this.offsets.accepted(p) as bigint]),
      unreachableMs: this.bounds.unreachableMs,
    }));
  }

  /** Where the consumer's fetches go (in the slot's thread); `current`: the consumer is still this source's. */
  private handlerFor(current: () => boolean): FetchHandler {
    return {
      fetched: (partition, highWatermark, lastOffset, records) => {
        takeInFetch(this.queues, this.offsets, partition, highWatermark, lastOffset, records, this.intake);
        this.ctx.wake();
      },
      room: (partition) => (this.queues.full(partition) ? this.queues.waitForSpace() : undefined),
      failed: (e) => {
        if (!current()) return;
        this.failure = e;
        this.ctx.wake();
      },
      stopping: () => this.queues.releaseSpace(),
      ...limits.consumerOutages(this.ctx.reportOutage, this.waiter, this.bounds, current),
    };
  }

  /** Kafka partitions whose watermark partitions alignment paused. */
  private pausedKafkaPartitions(): number[] {
    return this.wm.paused(this.pausedIdx);
  }

  setPaused(partitions: ReadonlySet<number>): void {
    this.pausedIdx = new Set(partitions); // the caller reuses its sets
    const paused = this.pausedKafkaPartitions();
    this.queues.setPaused(paused);
    this.consumer.setPaused(paused);
  }

  /** In the slot's loop: declares new partitions to the watermark tracker (idle when the slot owns none). */
  private declarePartitions(): void {
    const empty = this.assigned && this.owned.length === 0 && (this.discoveryMs > 0 || this.assignment.keepsRunning);
    this.wm.declare(this.ctx, (p) => this.bounded && !this.offsets.hasEnd(p), empty);
  }

  snapshotPosition(): unknown {
    return this.offsets.snapshot(this.spec.topic);
  }

  readonly partitionLoad = (): PartitionLoad => this.offsets.load();

  poll(out: RawRecords, max: number): PollResult {
    if (this.watchFailure !== undefined) throw this.watchFailure;
    if (this.failure !== undefined) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `source "${this.ctx.sourceName}": kafka consumer failed: ${(this.failure as Error).message ?? String(this.failure)} (topic ${this.spec.topic})`,
        { cause: this.failure },
      );
    }
    this.declarePartitions();
    this.originals?.reset();
    const n = this.queues.drain(max, (m) => this.take(m, out));
    this.caughtUp.afterPoll(
      this.wm.index,
      { queuedOf: (p) => this.queues.queuedOf(p), fetchedToEnd: (p) => this.offsets.fetchedToEnd(p) },
      (idx, up) => this.ctx.partitionCaughtUp(idx, up),
    );
    if (n > 0) {
      this.ctx.reportLag?.(this.offsets.lag());
      return 'data';
    }
    if (!this.assigned) return 'empty'; // waiting for the topic
    if (this.bounded) return this.offsets.allEnded ? 'end' : 'empty';
    return !this.owned.length && !this.discoveryMs && !this.assignment.keepsRunning ? 'end' : 'empty';
  }

  /** One entry: advances the position (a bounded partition ends at its end); true: a record added; wait: its schema. */
  private take(m: Queued, out: RawRecords): boolean | 'wait' {
    const r = m.skipped ? undefined : this.decoder.decode(m);
    if (r === 'wait') return 'wait';
    const { emit, finished } = this.offsets.passed(m.partition, m.offset);
    if (finished) this.ctx.finishPartition(this.wm.index.get(m.partition) as number);
    if (!emit || r === undefined) return false;
    if (r.ok) {
      out.add(r.rec, this.wm.index.get(m.partition) as number, originOf(m));
      this.originals?.note(r.rec, m);
      this.caughtUp.took(m.partition);
      return true;
    }
    this.badRecord(m, r.reason, r.error);
    return false;
  }

  /** The record as it was read (polled-originals.ts), to the dead-letter topic; counted by the runtime. */
  reject(rec: Rec, _partition: number, reason: string): void {
    if (!this.dlq) return;
    const m = this.originals?.find(rec);
    if (m === undefined)
      throw new TributaryError('TRIB_INVARIANT', `source "${this.ctx.sourceName}": rejected a record it did not poll`);
    this.dlq.send({ ...m, offset: m.offset.toString(), reason: 'timestamp', error: reason });
  }

  /** An unreadable record: counted, then skipped or dead-lettered as it was read (with its headers). */
  private badRecord(m: Queued, reason: string, error: string): void {
    const { partition } = m;
    const offset = m.offset.toString();
    this.ctx.recordFailed(reason);
    this.ctx.logger.warn(
      { source: this.ctx.sourceName, topic: this.spec.topic, partition, offset, reason: error },
      this.dlq ? 'unreadable record sent to dead-letter topic' : 'unreadable record skipped',
    );
    this.dlq?.send({ partition, offset, key: m.key, value: m.value, headers: m.headers, reason, error });
  }

  /** Every sink acknowledged the records up to `position` (SourceReader.commitPosition): dead letters, then it. */
  async commitPosition(position: unknown, barrier?: number): Promise<void> {
    if (!this.group || this.closed) return;
    await this.dlq?.sent();
    await this.group.commitPosition((position as ReturnType<PartitionOffsets['snapshot']>).offsets, barrier);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watch?.close();
    await limits.closedWithin(this.consumer.stop(), 5000);
    await limits.closedWithin(this.admin?.disconnect());
    await limits.closedWithin(this.watchAdmin?.disconnect());
    await Promise.all([this.dlq?.close(), this.decoder?.close()]);
  }
}
