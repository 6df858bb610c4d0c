// Kafka sink, at-least-once: records are sent in batches (acks=all) as they arrive; close()
// waits for every send. A failed send fails the job at the next write, barrier or close.
// At a checkpoint barrier (preCommit) every record written before it is sent and acknowledged
// before this slot acknowledges the checkpoint: a restart from that checkpoint replays only
// records after the barrier, so none is lost (some may be written twice). Exactly-once
// (transactions committed on checkpoint completion) is the TransactionalKafkaSink.
import type { Message, Producer } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import { compileExpr, type CompiledExpr } from '../../expr/cel.ts';
import type { KafkaSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';
import { clientBounds, createKafka, keyPartitioner, namingBounds, type ClientBounds } from './client.ts';
import { sinkRequests, type UnansweredRequests } from './unanswered-requests.ts';
import { appendMessages, describeSendFailure, splitForSend } from './record-messages.ts';
import { RegistryEncoding } from './registry-encoding.ts';

const FLUSH_RECORDS = 2000;
/**
 * A lone record waits at most this long for others to share its send (measured at -p 1: records
 * per CPU-second as with 20 ms; docs/runtime/performance.md).
 */
const LINGER_MS = 5;
const MAX_IN_FLIGHT = 4;

export class KafkaSink implements SinkWriter {
  private readonly spec: KafkaSinkSpec;
  private readonly key: CompiledExpr | undefined;
  /** The value's format; with a registry format the codec, whose check runs in front of this writer. */
  private readonly encoding: RegistryEncoding;
  readonly checkRecord: RegistryEncoding['check'];
  private readonly bounds: ClientBounds;
  private ctx!: SinkWriterContext;
  private producer!: Producer;
  private pending: Message[] = [];
  private inFlight = new Set<Promise<void>>();
  private linger: NodeJS.Timeout | undefined;
  private failure: unknown;
  /** Warns and reports an outage while sends wait for brokers that do not answer. */
  private waits: UnansweredRequests | undefined;

  constructor(spec: KafkaSinkSpec) {
    this.spec = spec;
    this.key = spec.key ? compileExpr(spec.key) : undefined;
    this.bounds = clientBounds(spec);
    this.encoding = new RegistryEncoding(spec);
    this.checkRecord = this.encoding.check;
  }

  /** The producer the sink sends with (a test overrides it to inject a failure the broker cannot produce on demand). */
  protected createProducer(ctx: SinkWriterContext): Producer {
    const kafka = createKafka(
      this.spec.brokers,
      this.spec.clientId ?? `tributary-${ctx.sinkName}-${ctx.slot}`,
      ctx.logger,
      this.bounds,
    );
    return kafka.producer({ allowAutoTopicCreation: true, createPartitioner: keyPartitioner });
  }

  async open(ctx: SinkWriterContext): Promise<void> {
    this.ctx = ctx;
    await this.encoding.open(ctx);
    this.waits = sinkRequests(ctx, this.spec.brokers, this.bounds);
    this.producer = this.createProducer(ctx);
    try {
      await this.producer.connect();
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${ctx.sinkName}": cannot connect to Kafka: ${(namingBounds(e, this.bounds) as Error).message}`,
        { cause: e },
      );
    }
  }

  get backpressured(): boolean {
    return this.inFlight.size >= MAX_IN_FLIGHT;
  }

  private check(checkpointId?: number): void {
    if (this.failure !== undefined) {
      const at = checkpointId === undefined ? '' : ` (checkpoint ${checkpointId} declined)`;
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${this.ctx.sinkName}": send to ${this.spec.topic} failed${at}: ${(this.failure as Error).message}`,
        { cause: this.failure },
      );
    }
  }

  write(b: Batch): void {
    this.check();
    appendMessages(b, this.pending, this.encoding.value, this.key, this.encoding.key);
    if (this.pending.length >= FLUSH_RECORDS) this.flush();
    else if (!this.linger && this.pending.length > 0) this.linger = setTimeout(() => this.flush(), LINGER_MS);
  }

  private flush(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    if (this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    for (const chunk of splitForSend(messages, FLUSH_RECORDS)) {
      const p: Promise<void> = this.waits!.send(this.producer, this.spec.topic, chunk)
        .then(() => undefined)
        .catch((e: unknown) => {
          this.failure ??= namingBounds(describeSendFailure(e, chunk), this.bounds, this.spec.brokers);
        })
        .finally(() => {
          this.inFlight.delete(p);
          this.ctx.wake();
        });
      this.inFlight.add(p);
    }
  }

  /**
   * At the barrier (called synchronously in the slot's mailbox, so nothing of the next checkpoint
   * is written yet): sends what lingers and resolves once every send started so far is
   * acknowledged; rejects (the checkpoint is declined and the job fails) when one of them failed.
   * Records written meanwhile belong to the next checkpoint and do not hold this one up. No
   * committables: there is nothing to commit or recover.
   */
  async preCommit(checkpointId: number): Promise<readonly unknown[]> {
    this.check(checkpointId);
    this.flush();
    await Promise.all([...this.inFlight]);
    this.check(checkpointId);
    return [];
  }

  async close(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    this.waits?.stop();
    await Promise.all([this.producer?.disconnect(), this.encoding.close()]);
    this.check();
  }
}
