// The input of a job whose topic gains partitions while it runs (cli/rescale-growth.chaos.int.test.ts):
// every key lives in one partition for ever (`p<partition>k<j>`, written there explicitly), so the order
// of a key's records is the order they were written whatever the partition count, and a rolling count's
// correct output (`k:n:maxId`, the n-th record's id) follows from what was written. A partition added to
// the topic gets keys of its own from the next chunk on: a reader that never takes it misses them.
import type { Kafka } from 'kafkajs';
import { inputProducer } from './kafka-topics.ts';

export class GrowthInput {
  /** The outputs a rolling count over everything written must produce, in write order per key. */
  readonly expected: string[] = [];
  private readonly perKey = new Map<string, number>();
  private readonly last = new Map<string, string>();
  private nextId = 0;

  private readonly kafka: Kafka;
  private readonly topic: string;
  /** Keys per partition and records per key in each chunk. */
  private readonly keysPerPartition: number;
  private readonly perKeyPerChunk: number;

  constructor(kafka: Kafka, topic: string, keysPerPartition = 4, perKeyPerChunk = 2) {
    this.kafka = kafka;
    this.topic = topic;
    this.keysPerPartition = keysPerPartition;
    this.perKeyPerChunk = perKeyPerChunk;
  }

  /** Writes `chunks` chunks, `pauseMs` apart, each to every partition the topic has when this call starts. */
  async write(chunks: number, pauseMs: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const partitions = (await admin.fetchTopicMetadata({ topics: [this.topic] })).topics[0]!.partitions.length;
    await admin.disconnect();
    const producer = inputProducer(this.kafka);
    await producer.connect();
    try {
      for (let c = 0; c < chunks; c++) {
        const messages = [];
        for (let p = 0; p < partitions; p++)
          for (let r = 0; r < this.perKeyPerChunk; r++)
            for (let j = 0; j < this.keysPerPartition; j++) {
              const k = `p${p}k${j}`;
              const id = this.nextId++;
              messages.push({ partition: p, key: k, value: JSON.stringify({ id, k }) });
              const n = (this.perKey.get(k) ?? 0) + 1;
              this.perKey.set(k, n);
              this.expected.push(`${k}:${n}:${id}`);
              this.last.set(k, `${k}:${n}:${id}`);
            }
        await producer.send({ topic: this.topic, messages });
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** Each key's newest expected output: once all are in the output, the job has read everything written. */
  lastPerKey(): ReadonlySet<string> {
    return new Set(this.last.values());
  }
}
