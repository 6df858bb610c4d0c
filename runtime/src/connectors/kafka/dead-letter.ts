// The Kafka source's dead-letter topic (onError: deadLetter): a record it cannot read goes
// there with its original key, value and headers, then headers of ours naming the error and its
// origin (a name clash keeps both, ours last: original-headers.ts). Sends
// are fire-and-forget from the slot's loop: a failed send never fails the job (the record was
// already unreadable; the dead-letter topic is a courtesy, not output), but it is logged with
// the record's origin and counted (onWriteFailed: tributary_source_records_failed_total with
// reason dead_letter_failed), since that record is then gone. sent() and close() wait for the
// ones in flight (the source commits its position only after them).
import type { Logger } from 'pino';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { keyPartitioner } from './client.ts';
import { deadLetterHeaders, type KeptHeaders } from './original-headers.ts';

export interface DeadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's own headers as it was read (undefined: it had none, or they were not kept). */
  headers?: KeptHeaders | undefined;
  reason: string;
  error: string;
}

export class DeadLetterTopic {
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly origin: { topic: string; source: string };
  private readonly logger: Logger;
  private readonly pending = new Set<Promise<unknown>>();

  private readonly onWriteFailed: () => void;

  constructor(
    kafka: KafkaClient,
    topic: string,
    origin: { topic: string; source: string },
    logger: Logger,
    onWriteFailed: () => void,
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: keyPartitioner });
    this.topic = topic;
    this.origin = origin;
    this.logger = logger;
    this.onWriteFailed = onWriteFailed;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  send(r: DeadRecord): void {
    const { topic } = this;
    const headers = deadLetterHeaders(r.headers, {
      'tributary.error.reason': r.reason,
      'tributary.error.message': r.error,
      'tributary.source.topic': this.origin.topic,
      'tributary.source.partition': String(r.partition),
      'tributary.source.offset': r.offset,
      'tributary.source.name': this.origin.source,
    });
    const p = this.producer
      .send({ topic, messages: [{ key: r.key, value: r.value, headers }] })
      .catch((e: unknown) => {
        this.onWriteFailed();
        this.logger.error(
          { err: e, topic, source: this.origin.source, from: `${this.origin.topic}/${r.partition}@${r.offset}` },
          'could not write to the dead-letter topic; the unreadable record is dropped',
        );
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once every send started so far settled (written, or failed and counted). */
  async sent(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pending]);
    await this.producer.disconnect();
  }
}
