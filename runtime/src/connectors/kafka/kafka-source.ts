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
// Fetched records wait in one queue per partition; poll() takes from them in turn, skipping
// partitions that watermark alignment paused (setPaused), whose fetching is paused in kafkajs
// too. The bound on queued records counts only partitions that are not paused, so a paused
// partition's queue never stops the others from being fetched.
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
import { DeadLetterTopic } from './dead-letter.ts';
import { slotAssigner } from './slot-assigner.ts';
import { restoredOffsets, startOffset } from './start-positions.ts';
import { TopicWatch } from './topic-watch.ts';

/**
 * A fetched record, or (`skipped`) the last offset of a fetch whose tail held no record for us: transaction
 * markers and aborted records occupy offsets that are never delivered, and a bounded read must still see
 * its end offset passed.
 */
interface Queued {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  skipped?: true;
}

const MAX_QUEUED = 20_000;
const DEFAULT_DISCOVERY_MS = 30_000;

/**
 * The topic's partition ids, sorted; undefined when it does not exist (listed first: a metadata request for a
 * missing topic retries for seconds).
 */
async function topicPartitions(admin: Admin, topic: string): Promise<number[] | undefined> {
  if (!(await admin.listTopics()).includes(topic)) return undefined;
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const all = (meta.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  return all.length === 0 ? undefined : all;
}

export class KafkaSource implements SourceReader {
  private readonly spec: KafkaSourceSpec;
  private ctx!: SourceReaderContext;
  private kafka!: KafkaClient;
  private admin: Admin | undefined;
  private watch: TopicWatch | undefined;
  private consumer: Consumer | undefined;
  private dlq: DeadLetterTopic | undefined;
  /** Per Kafka partition: fetched records not yet polled (from `head`). */
  private readonly queues = new Map<number, { items: Queued[]; head: number }>();
  private queued = 0;
  /** Kafka partitions paused by alignment, and the ones kafkajs has paused (applied when it can). */
  private readonly paused = new Set<number>();
  private kafkaPaused = new Set<number>();
  private rr = 0;
  private spaceWaiters: (() => void)[] = [];
  /** Kafka partition → watermark partition index (declared in poll, i.e. in the slot's loop). */
  private readonly partIndex = new Map<number, number>();
  /** Owned partitions not declared to the watermark tracker yet. */
  private undeclared: number[] = [];
  /** A slot owning no partition of an existing topic: a finished watermark partition, so the source is idle. */
  private idleMarker: number | undefined;
  /** Bounded mode: Kafka partition → end offset (exclusive), removed once reached. */
  private readonly endOffsets = new Map<number, bigint>();
  private bounded = false;
  private discoveryMs = 0;
  private owned: number[] = [];
  /** The topic was found and its partitions assigned (before: waiting, or opening). */
  private assigned = false;
  private opened = false;
  /** Since when the topic has been missing (ISO); undefined once it exists. */
  private waitingSince: string | undefined;
  private restored: Map<number, bigint> | undefined;
  private failure: unknown;
  /** Next offset to emit per owned partition (the checkpointed position). */
  private readonly position = new Map<number, bigint>();
  /** Next offset accepted from the consumer per partition (drops re-deliveries before a seek). */
  private readonly accepted = new Map<number, bigint>();
  private readonly highWatermark = new Map<number, bigint>();
  private closed = false;

  constructor(spec: KafkaSourceSpec) {
    this.spec = spec;
  }

  private get groupId(): string {
    const base = scopedKafkaId(this.ctx.kafkaIdScope, this.spec.groupId ?? `tributary-${this.ctx.sourceName}`);
    return `${base}.slot-${this.ctx.slot}-of-${this.ctx.parallelism}`;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    assertReadCommittedFix(`kafka source ${ctx.sourceName}`);
    this.ctx = ctx;
    const { topic } = this.spec;
    this.bounded = this.spec.bounded === 'latest';
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
    const added = all.filter((p) => partitionOwner(topic, p, ctx.parallelism) === ctx.slot && !this.position.has(p));
    const first = !this.assigned;
    if (!first && added.length === 0 && this.waitingSince === undefined) return;
    const offsets = added.length > 0 ? await admin.fetchTopicOffsets(topic) : [];
    const committed = !ctx.checkpointing && added.length > 0 ? await this.committedOffsets() : undefined;
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
      this.position.set(p, start);
      this.accepted.set(p, start);
      if (this.bounded && log.high > start) this.endOffsets.set(p, log.high);
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

  /** Without checkpoints: the offsets the slot's group committed for this topic. */
  private async committedOffsets(): Promise<Map<number, bigint>> {
    // A broker that is still electing its group coordinator answers with a retriable error (e.g.
    // NOT_COORDINATOR right after it starts): retried with backoff for up to ~10 s, then the job fails.
    let res: Awaited<ReturnType<Admin['fetchOffsets']>> | undefined;
    for (let attempt = 0; res === undefined; attempt++) {
      try {
        res = await (this.admin as Admin).fetchOffsets({ groupId: this.groupId, topics: [this.spec.topic] });
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
    const out = new Map<number, bigint>();
    for (const p of res[0]?.partitions ?? []) if (BigInt(p.offset) >= 0n) out.set(p.partition, BigInt(p.offset));
    return out;
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
      this.releaseSpace();
      await stopping;
    }
    if (this.closed) return;
    const { topic } = this.spec;
    const parts = this.owned.filter((p) => !this.bounded || this.endOffsets.has(p));
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
    this.kafkaPaused = new Set(); // a new consumer fetches every partition until told otherwise
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.consumer !== consumer) return;
      if (!e.payload.restart) this.failure = e.payload.error;
      this.ctx.wake();
    });
    void consumer
      .run({
        autoCommit: !checkpointing,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          this.highWatermark.set(batch.partition, BigInt(batch.highWatermark));
          let next = this.accepted.get(batch.partition) ?? 0n;
          for (const m of batch.messages) {
            const off = BigInt(m.offset);
            if (off < next) continue; // before the start position, or re-delivered after the seek
            next = off + 1n;
            this.enqueue({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value });
          }
          // Offsets the fetch covered beyond its last record (markers, aborted records): consumed too.
          // firstOffset() is null only for a fetch with no raw record at all (it then reports the high
          // watermark, which under read_committed may lie past an open transaction: not consumed).
          if (batch.firstOffset() !== null) {
            const last = BigInt(batch.lastOffset());
            if (last >= next) {
              next = last + 1n;
              this.enqueue({
                partition: batch.partition,
                offset: last.toString(),
                key: null,
                value: null,
                skipped: true,
              });
            }
          }
          this.accepted.set(batch.partition, next);
          this.ctx.wake();
          this.applyKafkaPause(consumer);
          while (this.unpausedQueued() > MAX_QUEUED && !this.paused.has(batch.partition) && isRunning() && !isStale()) {
            await new Promise<void>((r) => this.spaceWaiters.push(r));
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
    for (const p of parts) consumer.seek({ topic, partition: p, offset: (this.accepted.get(p) as bigint).toString() });
  }

  private enqueue(q: Queued): void {
    let pq = this.queues.get(q.partition);
    if (!pq) {
      pq = { items: [], head: 0 };
      this.queues.set(q.partition, pq);
    }
    pq.items.push(q);
    this.queued++;
  }

  /** Queued records of partitions that are not paused (what bounds fetching). */
  private unpausedQueued(): number {
    let n = this.queued;
    for (const p of this.paused) {
      const pq = this.queues.get(p);
      if (pq) n -= pq.items.length - pq.head;
    }
    return n;
  }

  /** Makes kafkajs fetch exactly the partitions not paused (it refuses before its group runs: retried per batch). */
  private applyKafkaPause(consumer: Consumer | undefined): void {
    if (!consumer) return;
    const { topic } = this.spec;
    const pause = [...this.paused].filter((p) => !this.kafkaPaused.has(p));
    const resume = [...this.kafkaPaused].filter((p) => !this.paused.has(p));
    if (pause.length === 0 && resume.length === 0) return;
    try {
      if (pause.length > 0) consumer.pause([{ topic, partitions: pause }]);
      if (resume.length > 0) consumer.resume([{ topic, partitions: resume }]);
      this.kafkaPaused = new Set(this.paused);
    } catch {
      // The consumer group is not running yet: the next batch applies it.
    }
  }

  setPaused(partitions: ReadonlySet<number>): void {
    this.paused.clear();
    for (const [p, idx] of this.partIndex) if (partitions.has(idx)) this.paused.add(p);
    this.applyKafkaPause(this.consumer);
    this.releaseSpace();
  }

  private releaseSpace(): void {
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const f of w) f();
  }

  /** In the slot's loop: declares new partitions to the watermark tracker (idle when the slot owns none). */
  private declarePartitions(): void {
    for (const p of this.undeclared) {
      const idx = this.ctx.addPartition();
      this.partIndex.set(p, idx);
      if (this.bounded && !this.endOffsets.has(p)) this.ctx.finishPartition(idx);
    }
    this.undeclared = [];
    if (this.assigned && this.owned.length === 0 && this.discoveryMs > 0 && this.idleMarker === undefined) {
      this.idleMarker = this.ctx.addPartition();
      this.ctx.idlePartition(this.idleMarker);
    }
  }

  snapshotPosition(): unknown {
    const offsets: Record<string, string> = {};
    for (const [p, off] of this.position) offsets[String(p)] = off.toString();
    return { kind: 'kafka', topic: this.spec.topic, offsets };
  }

  private reportLag(): void {
    if (!this.ctx.reportLag) return;
    let lag = 0n;
    for (const [p, hw] of this.highWatermark) {
      const pos = this.position.get(p) ?? hw;
      if (hw > pos) lag += hw - pos;
    }
    this.ctx.reportLag(Number(lag));
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
    let n = 0;
    const parts = [...this.queues.keys()];
    // Partitions in turn from a rotating start, each its share of `max`, then whatever is left.
    const share = Math.max(1, Math.ceil(max / Math.max(1, parts.length - this.paused.size)));
    for (let pass = 0; pass < 2 && n < max; pass++) {
      for (let j = 0; j < parts.length && n < max; j++) {
        const kp = parts[(this.rr + j) % parts.length] as number;
        if (this.paused.has(kp)) continue;
        const pq = this.queues.get(kp) as { items: Queued[]; head: number };
        const limit = pass === 0 ? Math.min(max, n + share) : max;
        while (n < limit && pq.head < pq.items.length) {
          const m = pq.items[pq.head++] as Queued;
          this.queued--;
          if (this.take(m, out, format)) n++;
        }
        if (pq.head > 4096 && pq.head * 2 > pq.items.length) {
          pq.items = pq.items.slice(pq.head);
          pq.head = 0;
        }
      }
    }
    this.rr++;
    if (this.unpausedQueued() <= MAX_QUEUED && this.spaceWaiters.length > 0) this.releaseSpace();
    if (n > 0) {
      this.reportLag();
      return 'data';
    }
    if (!this.assigned) return 'empty'; // waiting for the topic
    if (this.bounded) return this.endOffsets.size === 0 ? 'end' : 'empty';
    return this.owned.length === 0 && this.discoveryMs === 0 ? 'end' : 'empty';
  }

  /** One queued entry: advances the position, finishes a bounded partition at its end; true if a record was added. */
  private take(m: Queued, out: RawRecords, format: 'json' | 'string' | 'bytes'): boolean {
    if (this.position.has(m.partition)) this.position.set(m.partition, BigInt(m.offset) + 1n);
    if (this.bounded) {
      const end = this.endOffsets.get(m.partition);
      if (end === undefined) return false;
      const off = BigInt(m.offset);
      // Reaching or passing the end finishes the partition: the offset just before it may be a
      // transaction marker, never delivered, with later records fetched in the same batch.
      if (off + 1n >= end) {
        this.endOffsets.delete(m.partition);
        this.ctx.finishPartition(this.partIndex.get(m.partition) as number);
      }
      if (off >= end) return false;
    }
    if (m.skipped) return false;
    const r = decodeValue(format, m.value);
    if (r.ok) {
      if (format !== 'json') r.rec['key'] = m.key === null ? null : m.key.toString();
      out.add(r.rec, this.partIndex.get(m.partition) as number);
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
    this.releaseSpace();
    await stopping;
    await this.admin?.disconnect();
    await this.dlq?.close();
  }
}
