// Kafka source (kafkajs). Each slot reads the partitions it owns (partitionOwner) through
// its own consumer group `<groupId>.slot-<s>-of-<p>` whose assigner hands exactly those
// partitions to it, so the assignment never depends on group rebalancing. Without
// checkpoints, committed group offsets resume a job at the same parallelism.
//
// With checkpoints, offsets live in checkpoint state (Flink's KafkaSource): the position is
// "next offset to emit" per owned partition, taken at the barrier between two polls; a
// restore at any parallelism gives every slot the union of old positions and it takes the
// partitions it owns now. The consumer group then gets a fresh per-run suffix (so no stale
// committed offset can put the fetch position ahead of the checkpoint), fetching starts
// from the earliest offset and each partition is sought to its start offset; until the
// seek takes effect, records below the next expected offset are dropped. Offsets are not
// committed to the group (lag is reported as a metric instead).
//
// Records are decoded in the slot's loop (never in kafkajs callbacks). A record that
// cannot be decoded (or has no valid timestamp) is counted and skipped or sent to the
// dead-letter topic, with the error and its origin in headers; it never fails the job.
import { randomUUID } from 'node:crypto';
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import kafkajs from 'kafkajs';
import type { Admin, Consumer, Kafka as KafkaClient, Producer, Assigner, PartitionAssigner } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { Rec } from '../../operators/types.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';
import { decodeValue } from '../record-format.ts';
import { createKafka, keyPartitioner, partitionOwner } from './client.ts';

const { AssignerProtocol } = kafkajs;

interface Queued {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

const MAX_QUEUED = 20_000;

function slotAssigner(topic: string, partitions: number[]): PartitionAssigner {
  return (): Assigner => ({
    name: 'TributarySlotAssigner',
    version: 1,
    assign: ({ members }) =>
      Promise.resolve(
        members.map((m, i) => ({
          memberId: m.memberId,
          // One member per slot group; any extra member (a misconfigured duplicate) gets nothing.
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: i === 0 ? { [topic]: partitions } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      ),
    protocol: ({ topics }) => ({
      name: 'TributarySlotAssigner',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
  });
}

export class KafkaSource implements SourceReader {
  private readonly spec: KafkaSourceSpec;
  private ctx!: SourceReaderContext;
  private kafka!: KafkaClient;
  private consumer: Consumer | undefined;
  private dlq: Producer | undefined;
  private readonly pendingDlq = new Set<Promise<unknown>>();
  private queue: Queued[] = [];
  private qHead = 0;
  private spaceWaiters: (() => void)[] = [];
  /** Kafka partition → watermark partition index. */
  private readonly partIndex = new Map<number, number>();
  /** Bounded mode: Kafka partition → end offset (exclusive), removed once reached. */
  private readonly endOffsets = new Map<number, bigint>();
  private bounded = false;
  private owned: number[] = [];
  private failure: unknown;
  /** Checkpointing: next offset to emit per owned partition (the checkpointed position). */
  private readonly position = new Map<number, bigint>();
  /** Checkpointing: next offset accepted from the consumer per partition (drops re-deliveries before the seek). */
  private readonly accepted = new Map<number, bigint>();
  private readonly highWatermark = new Map<number, bigint>();
  private closed = false;

  constructor(spec: KafkaSourceSpec) {
    this.spec = spec;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    const { topic } = this.spec;
    this.kafka = createKafka(
      this.spec.brokers,
      this.spec.clientId ?? `tributary-${ctx.sourceName}-${ctx.slot}`,
      ctx.logger,
    );
    const admin: Admin = this.kafka.admin();
    try {
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const all = (meta.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
      if (all.length === 0) throw new TributaryError('TRIB_CONNECTOR_FAILED', `topic ${topic} has no partitions`);
      this.owned = all.filter((p) => partitionOwner(topic, p, ctx.parallelism) === ctx.slot);
      for (const p of this.owned) this.partIndex.set(p, ctx.addPartition());
      const offsets = this.spec.bounded === 'latest' || ctx.checkpointing ? await admin.fetchTopicOffsets(topic) : [];
      if (ctx.checkpointing) {
        const restored = new Map<number, bigint>();
        for (const pos of ctx.restoredPositions ?? []) {
          const k = pos as { kind?: string; topic?: string; offsets?: Record<string, string> } | null;
          if (k?.kind !== 'kafka' || k.topic !== topic || !k.offsets) continue;
          for (const [part, off] of Object.entries(k.offsets)) restored.set(Number(part), BigInt(off));
        }
        for (const o of offsets) {
          if (!this.owned.includes(o.partition)) continue;
          // A partition the checkpoint does not know (new, or a fresh start) starts per startFrom.
          const start =
            restored.get(o.partition) ?? (this.spec.startFrom === 'latest' ? BigInt(o.high) : BigInt(o.low));
          this.position.set(o.partition, start);
          this.accepted.set(o.partition, start);
        }
      }
      if (this.spec.bounded === 'latest') {
        this.bounded = true;
        for (const o of offsets) {
          if (!this.owned.includes(o.partition)) continue;
          const from = this.position.get(o.partition) ?? BigInt(o.low);
          if (BigInt(o.high) > from) this.endOffsets.set(o.partition, BigInt(o.high));
          else ctx.finishPartition(this.partIndex.get(o.partition) as number);
        }
      }
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `source "${ctx.sourceName}": cannot read metadata of topic ${topic}: ${(e as Error).message}`,
        { cause: e },
      );
    } finally {
      await admin.disconnect();
    }
    if (this.spec.onError === 'deadLetter') {
      this.dlq = this.kafka.producer({ allowAutoTopicCreation: true, createPartitioner: keyPartitioner });
      await this.dlq.connect();
    }
    ctx.logger.info(
      { source: ctx.sourceName, slot: ctx.slot, topic, partitions: this.owned },
      'kafka source assigned partitions',
    );
    if (this.owned.length === 0 || (this.bounded && this.endOffsets.size === 0)) return;
    const checkpointing = ctx.checkpointing === true;
    const groupId = `${this.spec.groupId ?? `tributary-${ctx.sourceName}`}.slot-${ctx.slot}-of-${ctx.parallelism}${checkpointing ? `.${randomUUID().slice(0, 8)}` : ''}`;
    const consumer = this.kafka.consumer({
      groupId,
      partitionAssigners: [slotAssigner(topic, this.owned)],
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: checkpointing || this.spec.startFrom !== 'latest' });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.failure = e.payload.error;
      this.ctx.wake();
    });
    void consumer
      .run({
        autoCommit: !checkpointing,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (checkpointing) {
            this.highWatermark.set(batch.partition, BigInt(batch.highWatermark));
            let next = this.accepted.get(batch.partition) ?? 0n;
            for (const m of batch.messages) {
              const off = BigInt(m.offset);
              if (off < next) continue; // before the checkpointed position, or re-delivered after the seek
              next = off + 1n;
              this.queue.push({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value });
            }
            this.accepted.set(batch.partition, next);
          } else {
            for (const m of batch.messages)
              this.queue.push({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value });
          }
          this.ctx.wake();
          while (this.queue.length - this.qHead > MAX_QUEUED && isRunning() && !isStale()) {
            await new Promise<void>((r) => this.spaceWaiters.push(r));
            await heartbeat();
          }
          if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
          await heartbeat();
        },
      })
      .catch((e: unknown) => {
        this.failure = e;
        this.ctx.wake();
      });
    if (checkpointing)
      for (const [partition, offset] of this.position) consumer.seek({ topic, partition, offset: offset.toString() });
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
    const format = this.spec.format ?? 'json';
    let n = 0;
    while (n < max && this.qHead < this.queue.length) {
      const m = this.queue[this.qHead++] as Queued;
      if (this.position.has(m.partition)) this.position.set(m.partition, BigInt(m.offset) + 1n);
      if (this.bounded) {
        const end = this.endOffsets.get(m.partition);
        if (end === undefined) continue;
        const off = BigInt(m.offset);
        if (off >= end) continue;
        if (off + 1n >= end) {
          this.endOffsets.delete(m.partition);
          this.ctx.finishPartition(this.partIndex.get(m.partition) as number);
        }
      }
      const r = decodeValue(format, m.value);
      if (r.ok) {
        if (format !== 'json') r.rec['key'] = m.key === null ? null : m.key.toString();
        out.add(r.rec, this.partIndex.get(m.partition) as number);
        n++;
      } else this.badRecord(m.partition, m.offset, m.key, m.value, r.reason, r.error);
    }
    if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    if (this.queue.length - this.qHead <= MAX_QUEUED && this.spaceWaiters.length > 0) {
      const w = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const f of w) f();
    }
    if (n > 0) {
      this.reportLag();
      return 'data';
    }
    if (this.owned.length === 0 || (this.bounded && this.endOffsets.size === 0)) return 'end';
    return 'empty';
  }

  reject(rec: Rec, partition: number, reason: string): void {
    let kafkaPartition = -1;
    for (const [p, idx] of this.partIndex) if (idx === partition) kafkaPartition = p;
    this.sendToDlq(kafkaPartition, '-1', null, Buffer.from(JSON.stringify(rec)), 'timestamp', reason);
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
    this.sendToDlq(partition, offset, key, value, reason, error);
  }

  private sendToDlq(
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
    reason: string,
    error: string,
  ): void {
    const dlq = this.dlq;
    if (!dlq) return;
    const topic = this.spec.deadLetterTopic as string;
    const p = dlq
      .send({
        topic,
        messages: [
          {
            key,
            value,
            headers: {
              'tributary.error.reason': reason,
              'tributary.error.message': error,
              'tributary.source.topic': this.spec.topic,
              'tributary.source.partition': String(partition),
              'tributary.source.offset': offset,
              'tributary.source.name': this.ctx.sourceName,
            },
          },
        ],
      })
      .catch((e: unknown) => this.ctx.logger.error({ err: e, topic }, 'could not write to the dead-letter topic'))
      .finally(() => this.pendingDlq.delete(p));
    this.pendingDlq.add(p);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.spaceWaiters) f();
    this.spaceWaiters = [];
    await this.consumer?.disconnect();
    await Promise.all([...this.pendingDlq]);
    await this.dlq?.disconnect();
  }
}
