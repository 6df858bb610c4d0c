// Kafka source (kafkajs). Each slot reads the partitions it owns (partitionOwner) through
// its own consumer group `<groupId>.slot-<s>-of-<p>` whose assigner hands exactly those
// partitions to it, so the assignment never depends on group rebalancing. Every owned
// partition is sought to an explicit start (start-positions.ts): without checkpoints the
// offset the group committed, so committed group offsets resume a job at the same
// parallelism.
//
// With checkpoints, offsets live in checkpoint state (Flink's KafkaSource): the position is
// "next offset to emit" per owned partition, taken at the barrier between two polls; a
// restore at any parallelism gives every slot the union of old positions and it takes the
// partitions it owns now. The consumer group then gets a fresh per-run suffix (so no stale
// committed offset can put the fetch position ahead of the checkpoint), and offsets are not
// committed to the group (lag is reported as a metric instead). Until a seek takes effect,
// records below the next expected offset are dropped.
//
// A topic that does not exist yet is waited for (topic-watch.ts): the slot runs, reads
// nothing, holds back the watermark, reports what it waits for (reportWaiting → /v1/status)
// and logs it once; it reads once the topic exists. A running source looks for partitions
// added to its topic every `partitionDiscoveryInterval` (default 30 s; bounded reads never):
// a new partition goes to its owner slot by the same formula, starts at its earliest offset
// and is checkpointed like the others; the owner replaces its consumer to take it (the new
// one is sought to where the old one stopped). A slot that owns no partition of an existing
// topic is idle (it does not hold back the watermark) and keeps looking; with discovery
// off it ends, as a bounded read does when nothing is left.
//
// Fetched records wait in one queue per partition (partition-queues.ts: poll() takes from them
// in turn, skipping partitions that watermark alignment paused); offsets and positions are
// kept by partition-offsets.ts. After each poll the slot learns which partitions are caught up
// (fetched up to their log end, nothing queued): they do not hold their alignment group back.
// A caught-up partition stays so until poll() returns one of its records, so it rejoins the
// group with the watermark of its next record, not with the older one it had.
//
// Records are decoded in the slot's loop (never in kafkajs callbacks). A record that
// cannot be decoded (or has no valid timestamp) is counted and skipped or sent to the
// dead-letter topic, with the error and its origin in headers; it never fails the job.
import { scopedKafkaId } from './id-scope.ts';
import { randomUUID } from 'node:crypto';
import { assertReadCommittedFix } from './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import type { Admin, Consumer, Kafka as KafkaClient } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { Rec } from '../../operators/types.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';
import { decodeValue } from '../record-format.ts';
import { brokerList, createKafka, partitionOwner } from './client.ts';
import { BrokerReachability } from './broker-reachability.ts';
import { DeadLetterTopic } from './dead-letter.ts';
import { slotAssigner } from './slot-assigner.ts';
import { committedOffsets, logOffsets, topicPartitions } from './admin-lookups.ts';
import { PartitionOffsets } from './partition-offsets.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';
import { restoredOffsets, startOffset } from './start-positions.ts';
import { TopicWatch } from './topic-watch.ts';

const DEFAULT_DISCOVERY_MS = 30_000;

export class KafkaSource implements SourceReader {
  private readonly spec: KafkaSourceSpec;
  private ctx!: SourceReaderContext;
  private kafka!: KafkaClient;
  private admin: Admin | undefined;
  private watch: TopicWatch | undefined;
  private consumer: Consumer | undefined;
  private dlq: DeadLetterTopic | undefined;
  private readonly queues: PartitionQueues;
  private readonly offsets: PartitionOffsets;
  /** Kafka partition → watermark partition index (declared in poll, i.e. in the slot's loop). */
  private readonly partIndex = new Map<number, number>();
  /** Owned partitions not declared to the watermark tracker yet. */
  private undeclared: number[] = [];
  /** A slot owning no partition of an existing topic: a finished watermark partition, so the source is idle. */
  private idleMarker: number | undefined;
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
  private closed = false;
  /** Kafka partitions reported caught up, and those a record was returned from in the current poll. */
  private readonly caughtUp = new Set<number>();
  private readonly tookFrom = new Set<number>();

  /** Decoded records keep their source bytes for a Kafka sink (graph/pass-through.ts). */
  private readonly keepBytes: boolean;

  constructor(spec: KafkaSourceSpec, opts: { keepBytes?: boolean } = {}) {
    this.spec = spec;
    this.keepBytes = opts.keepBytes === true;
    this.bounded = spec.bounded === 'latest';
    this.queues = new PartitionQueues(spec.topic);
    this.offsets = new PartitionOffsets(this.bounded);
  }

  private get groupId(): string {
    const base = scopedKafkaId(this.ctx.kafkaIdScope, this.spec.groupId ?? `tributary-${this.ctx.sourceName}`);
    return `${base}.slot-${this.ctx.slot}-of-${this.ctx.parallelism}`;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    assertReadCommittedFix(`kafka source ${ctx.sourceName}`);
    this.ctx = ctx;
    const { topic } = this.spec;
    this.discoveryMs = this.bounded ? 0 : (parseDuration(this.spec.partitionDiscoveryInterval) ?? DEFAULT_DISCOVERY_MS);
    this.restored = ctx.checkpointing ? restoredOffsets(ctx.restoredPositions, topic) : undefined;
    this.kafka = createKafka(
      this.spec.brokers,
      this.spec.clientId ?? `tributary-${ctx.sourceName}-${ctx.slot}`,
      ctx.logger,
    );
    const admin: Admin = this.kafka.admin();
    this.admin = admin;
    let first: number[] | undefined;
    try {
      await admin.connect();
      first = await topicPartitions(admin, topic);
    } catch (e) {
      await admin.disconnect();
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `source "${ctx.sourceName}": cannot read metadata of topic ${topic}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (this.spec.onError === 'deadLetter') {
      this.dlq = new DeadLetterTopic(
        this.kafka,
        this.spec.deadLetterTopic as string,
        { topic, source: ctx.sourceName },
        ctx.logger,
        () => ctx.recordFailed('dead_letter_failed'),
      );
      await this.dlq.connect();
    }
    this.watch = new TopicWatch({
      fetch: () => topicPartitions(admin, topic),
      discoveryMs: this.discoveryMs,
      onMissing: () => this.topicMissing(),
      onPartitions: (all) => this.assign(all),
      onError: (e) =>
        ctx.logger.warn(
          { source: ctx.sourceName, slot: ctx.slot, topic, err: (e as Error).message },
          'kafka source: partition discovery failed; retrying',
        ),
    });
    await this.watch.begin(first);
    this.opened = true;
  }

  private topicMissing(): void {
    if (this.waitingSince !== undefined) return;
    const { topic } = this.spec;
    this.waitingSince = new Date().toISOString();
    this.ctx.reportWaiting?.({ topic, since: this.waitingSince });
    const brokers = brokerList(this.spec.brokers).join(',');
    this.ctx.logger.warn(
      { source: this.ctx.sourceName, slot: this.ctx.slot, topic, brokers },
      `kafka source "${this.ctx.sourceName}" waits for topic ${topic}: it does not exist on ${brokers}; reading starts when it is created`,
    );
  }

  /** Takes the owned partitions of `all` not taken yet: start positions, then a consumer that reads them. */
  private async assign(all: number[]): Promise<void> {
    try {
      await this.assignNew(all);
    } catch (e) {
      if (!this.opened) throw e;
      this.failure = e;
      this.ctx.wake();
    }
  }

  private async assignNew(all: number[]): Promise<void> {
    const { ctx } = this;
    const { topic } = this.spec;
    const admin = this.admin as Admin;
    const added = all.filter((p) => partitionOwner(topic, p, ctx.parallelism) === ctx.slot && !this.offsets.owns(p));
    const first = !this.assigned;
    if (!first && added.length === 0 && this.waitingSince === undefined) return;
    const named = (what: string) => (e: unknown) => {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `source "${ctx.sourceName}": cannot look up ${what} of topic ${topic}: ${(e as Error).message}`,
        { cause: e },
      );
    };
    const offsets = added.length > 0 ? await logOffsets(admin, topic).catch(named('the offsets')) : [];
    const committed =
      !ctx.checkpointing && added.length > 0
        ? await committedOffsets(admin, this.groupId, topic).catch(named(`group ${this.groupId}'s committed offsets`))
        : undefined;
    const initial = first && this.waitingSince === undefined;
    for (const p of added) {
      const o = offsets.find((x) => x.partition === p);
      const log = { low: BigInt(o?.low ?? '0'), high: BigInt(o?.high ?? '0') };
      const start = startOffset(p, log, {
        restored: this.restored,
        ...(committed ? { committed } : {}),
        startFrom: this.spec.startFrom ?? 'earliest',
        initial,
      });
      this.offsets.start(p, start, log.high);
    }
    this.owned = [...this.owned, ...added].sort((a, b) => a - b);
    this.undeclared.push(...added);
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
    if (added.length > 0) await this.replaceConsumer();
    ctx.wake();
  }

  /**
   * Stops the current consumer (if any) and starts one for every owned partition still to
   * read, each sought to the next offset not yet taken from Kafka: records already queued
   * stay queued, and nothing is read twice or skipped.
   */
  private async replaceConsumer(): Promise<void> {
    const old = this.consumer;
    this.consumer = undefined;
    if (old) {
      const stopping = old.disconnect(); // stops its run loop first: isRunning() turns false
      this.queues.releaseSpace();
      await stopping;
    }
    if (this.closed) return;
    const { topic } = this.spec;
    const parts = this.owned.filter((p) => !this.bounded || this.offsets.hasEnd(p));
    if (parts.length === 0) return;
    const checkpointing = this.ctx.checkpointing === true;
    const groupId = `${this.groupId}${checkpointing ? `.${randomUUID().slice(0, 8)}` : ''}`;
    const consumer = this.kafka.consumer({
      groupId,
      partitionAssigners: [slotAssigner(topic, parts)],
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    this.queues.consumerReplaced();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    // A fetch whose records were all filtered out (transaction markers, aborted records) never
    // reaches eachBatch; its offsets are consumed all the same.
    consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
      const b = e.payload;
      if (this.consumer !== consumer || b.batchSize !== 0 || b.firstOffset === null) return;
      this.offsets.setHighWatermark(b.partition, BigInt(b.highWatermark));
      const next = this.offsets.accepted(b.partition) ?? 0n;
      this.offsets.setAccepted(b.partition, this.passedWithoutRecords(b.partition, BigInt(b.lastOffset), next));
      this.ctx.wake();
    });
    const reach = new BrokerReachability();
    consumer.on(consumer.events.FETCH, () => reach.reached());
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.consumer !== consumer) return;
      const gone = reach.crashed(e.payload.error, brokerList(this.spec.brokers));
      if (!e.payload.restart || gone) this.failure = gone ?? e.payload.error;
      this.ctx.wake();
    });
    void consumer
      .run({
        autoCommit: !checkpointing,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const { queues, offsets } = this;
          offsets.setHighWatermark(batch.partition, BigInt(batch.highWatermark));
          let next = offsets.accepted(batch.partition) ?? 0n;
          for (const m of batch.messages) {
            const off = BigInt(m.offset);
            if (off < next) continue; // before the start position, or re-delivered after the seek
            next = off + 1n;
            queues.enqueue({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value });
          }
          // Offsets the fetch covered beyond its last record (markers, aborted records): consumed too.
          // firstOffset() is null only for a fetch with no raw record at all (it then reports the high
          // watermark, which under read_committed may lie past an open transaction: not consumed).
          if (batch.firstOffset() !== null)
            next = this.passedWithoutRecords(batch.partition, BigInt(batch.lastOffset()), next);
          offsets.setAccepted(batch.partition, next);
          this.ctx.wake();
          queues.applyKafkaPause(consumer);
          while (queues.full(batch.partition) && isRunning() && !isStale()) {
            await queues.waitForSpace();
            await heartbeat();
          }
          if (batch.firstOffset() !== null) resolveOffset(batch.lastOffset());
          await heartbeat();
        },
      })
      .catch((e: unknown) => {
        if (this.consumer !== consumer) return;
        this.failure = e;
        this.ctx.wake();
      });
    for (const p of parts)
      consumer.seek({ topic, partition: p, offset: (this.offsets.accepted(p) as bigint).toString() });
  }

  /**
   * Offsets up to `last` were fetched, those from `next` on without a record for us: queued as
   * one skipped entry (a bounded read must see its end passed). Returns the next offset to accept.
   */
  private passedWithoutRecords(partition: number, last: bigint, next: bigint): bigint {
    if (last < next) return next;
    this.queues.enqueue({ partition, offset: last.toString(), key: null, value: null, skipped: true });
    return last + 1n;
  }

  setPaused(partitions: ReadonlySet<number>): void {
    const paused: number[] = [];
    for (const [p, idx] of this.partIndex) if (partitions.has(idx)) paused.push(p);
    this.queues.setPaused(paused, this.consumer);
  }

  /** In the slot's loop: declares new partitions to the watermark tracker (idle when the slot owns none). */
  private declarePartitions(): void {
    for (const p of this.undeclared) {
      const idx = this.ctx.addPartition();
      this.partIndex.set(p, idx);
      if (this.bounded && !this.offsets.hasEnd(p)) this.ctx.finishPartition(idx);
    }
    this.undeclared = [];
    if (this.assigned && this.owned.length === 0 && this.discoveryMs > 0 && this.idleMarker === undefined) {
      this.idleMarker = this.ctx.addPartition();
      this.ctx.idlePartition(this.idleMarker);
    }
  }

  snapshotPosition(): unknown {
    return this.offsets.snapshot(this.spec.topic);
  }

  poll(out: RawRecords, max: number): PollResult {
    if (this.failure !== undefined) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `source "${this.ctx.sourceName}": kafka consumer failed: ${(this.failure as Error).message ?? String(this.failure)}`,
        { cause: this.failure },
      );
    }
    this.declarePartitions();
    const format = this.spec.format ?? 'json';
    const n = this.queues.drain(max, (m) => this.take(m, out, format));
    this.reportCaughtUp();
    if (n > 0) {
      this.ctx.reportLag?.(this.offsets.lag());
      return 'data';
    }
    if (!this.assigned) return 'empty'; // waiting for the topic
    if (this.bounded) return this.offsets.allEnded ? 'end' : 'empty';
    return this.owned.length === 0 && this.discoveryMs === 0 ? 'end' : 'empty';
  }

  /**
   * After a poll: a partition is caught up when nothing of it is queued and it was fetched up to
   * its log end. One with queued records keeps its state until a record of it is returned (a
   * caught-up partition rejoins with its next record's watermark, not its older one).
   */
  private reportCaughtUp(): void {
    for (const [p, idx] of this.partIndex) {
      const queued = this.queues.queuedOf(p) > 0;
      if (queued && !this.tookFrom.has(p)) continue;
      const up = !queued && this.offsets.fetchedToEnd(p);
      if (up === this.caughtUp.has(p)) continue;
      if (up) this.caughtUp.add(p);
      else this.caughtUp.delete(p);
      this.ctx.partitionCaughtUp(idx, up);
    }
    this.tookFrom.clear();
  }

  /** One queued entry: advances the position, finishes a bounded partition at its end; true if a record was added. */
  private take(m: Queued, out: RawRecords, format: 'json' | 'string' | 'bytes'): boolean {
    const { emit, finished } = this.offsets.passed(m.partition, BigInt(m.offset));
    if (finished) this.ctx.finishPartition(this.partIndex.get(m.partition) as number);
    if (!emit || m.skipped) return false;
    const r = decodeValue(format, m.value, this.keepBytes);
    if (r.ok) {
      if (format !== 'json') r.rec['key'] = m.key === null ? null : m.key.toString();
      out.add(r.rec, this.partIndex.get(m.partition) as number);
      this.tookFrom.add(m.partition);
      return true;
    }
    this.badRecord(m.partition, m.offset, m.key, m.value, r.reason, r.error);
    return false;
  }

  reject(rec: Rec, partition: number, reason: string): void {
    let kafkaPartition = -1;
    for (const [p, idx] of this.partIndex) if (idx === partition) kafkaPartition = p;
    this.dlq?.send({
      partition: kafkaPartition,
      offset: '-1',
      key: null,
      value: Buffer.from(JSON.stringify(rec)),
      reason: 'timestamp',
      error: reason,
    });
  }

  private badRecord(
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    reason: string,
    error: string,
  ): void {
    this.ctx.recordFailed(reason);
    this.ctx.logger.warn(
      { source: this.ctx.sourceName, topic: this.spec.topic, partition, offset, reason: error },
      this.dlq ? 'unreadable record sent to dead-letter topic' : 'unreadable record skipped',
    );
    this.dlq?.send({ partition, offset, key, value, reason, error });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watch?.close();
    const consumer = this.consumer;
    this.consumer = undefined;
    const stopping = consumer?.disconnect();
    this.queues.releaseSpace();
    await stopping;
    await this.admin?.disconnect();
    await this.dlq?.close();
  }
}
