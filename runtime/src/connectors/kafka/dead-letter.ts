// The Kafka source's dead-letter topic (onError: deadLetter): a record it cannot read goes
// there with its original key and value and headers naming the error and its origin. Sends
// are fire-and-forget from the slot's loop (a failed send is logged, never fails the job);
// close() waits for the ones in flight.
import type { Logger } from 'pino';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { keyPartitioner } from './client.ts';

export interface DeadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  error: string;
}

export class DeadLetterTopic {
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly origin: { topic: string; source: string };
  private readonly logger: Logger;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(kafka: KafkaClient, topic: string, origin: { topic: string; source: string }, logger: Logger) {
    this.producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: keyPartitioner });
    this.topic = topic;
    this.origin = origin;
    this.logger = logger;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  send(r: DeadRecord): void {
    const { topic } = this;
    const headers = {
      'tributary.error.reason': r.reason,
      'tributary.error.message': r.error,
      'tributary.source.topic': this.origin.topic,
      'tributary.source.partition': String(r.partition),
      'tributary.source.offset': r.offset,
      'tributary.source.name': this.origin.source,
    };
    const p = this.producer
      .send({ topic, messages: [{ key: r.key, value: r.value, headers }] })
      .catch((e: unknown) => this.logger.error({ err: e, topic }, 'could not write to the dead-letter topic'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pending]);
    await this.producer.disconnect();
  }
}
