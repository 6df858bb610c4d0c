// The Kafka side of bench/live-rescale.ts: the steady input (produce time in each record), the
// read_uncommitted reader of the output (write time = the topic's LogAppendTime), and the
// exactly-once check of the committed output by Kafka's own Java consumer.
//
// The patched kafkajs must load before kafkajs itself: the job's Kafka sources refuse to start
// without the read_committed fix (kafkajs-read-committed.ts), and this module is imported ahead of
// the runtime's connectors.
import '../runtime/src/connectors/kafka/kafkajs-read-committed.ts';
import { randomUUID } from 'node:crypto';
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { forEachRecordWithJava } from '../test/harness/java-topic-reader.ts';
import { inputProducer } from '../runtime/src/testing/kafka-topics.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function benchKafka(brokers: string[]): Kafka {
  return new kafkajs.Kafka({ clientId: 'bench-live-rescale', brokers, logLevel: kafkajs.logLevel.NOTHING });
}

/**
 * Input topic (`partitions`) and output topic (1 partition, LogAppendTime: the broker stamps each
 * record with the time it appended it, so the reader sees the write time whatever its own fetch
 * cadence; with one partition, offset order is append order and the stamps never go back).
 */
export async function createBenchTopics(
  kafka: Kafka,
  input: string,
  output: string,
  partitions: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: input, numPartitions: partitions },
        {
          topic: output,
          numPartitions: 1,
          configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteBenchTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

/** What the input holds: records per key index, counted only once the broker acknowledged their send. */
export class InputLedger {
  readonly perKey: Uint32Array;
  total = 0;
  constructor(keys: number) {
    this.perKey = new Uint32Array(keys);
  }
}

const message = (k: number) => ({ key: `u${k}`, value: JSON.stringify({ user: `u${k}`, ts: Date.now() }) });

/** Every key once (the job's state then holds all of them before anything is measured). */
export async function preload(producer: Producer, topic: string, ledger: InputLedger): Promise<void> {
  const keys = ledger.perKey.length;
  for (let i = 0; i < keys; i += 5000) {
    const n = Math.min(5000, keys - i);
    await producer.send({ topic, messages: Array.from({ length: n }, (_, j) => message(i + j)) });
    for (let j = 0; j < n; j++) ledger.perKey[i + j]! += 1;
    ledger.total += n;
  }
}

export interface SteadyInput {
  /** Stops after the send in flight; rejects if any send failed (the ledger would be wrong). */
  stop(): Promise<void>;
}

/**
 * `rate` records/s over uniformly random keys, sent every 50 ms on an absolute schedule (a late
 * tick sends what the schedule owes, so the offered rate stays `rate` on a busy machine). Sends
 * are sequential (one idempotent producer, one request in flight): a key's records are produced,
 * and so stamped, in order.
 */
export function steadyInput(producer: Producer, topic: string, rate: number, ledger: InputLedger): SteadyInput {
  let stopping = false;
  const keys = ledger.perKey.length;
  const loop = (async () => {
    const start = Date.now();
    let sent = 0;
    while (!stopping) {
      const owed = Math.floor(((Date.now() - start) / 1000) * rate) - sent;
      if (owed > 0) {
        const ks = Array.from({ length: owed }, () => Math.floor(Math.random() * keys));
        await producer.send({ topic, messages: ks.map(message) });
        for (const k of ks) ledger.perKey[k]! += 1;
        ledger.total += owed;
        sent += owed;
      }
      await sleep(50);
    }
  })();
  // Handled here so a failed send is not an unhandled rejection before stop(); stop() rethrows it.
  loop.catch(() => undefined);
  return {
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

export async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const p = inputProducer(kafka);
  await p.connect();
  return p;
}

/** One output record as the reader saw it: broker append time, produce time of its input, read time. */
export interface OutputSample {
  appendAt: number;
  producedAt: number;
  readAt: number;
}

export interface OutputReader {
  readonly samples: OutputSample[];
  close(): Promise<void>;
}

/**
 * read_uncommitted: an exactly-once sink's records are visible as soon as it wrote them, not at the
 * commit a checkpoint later; latency then measures the job, not the checkpoint interval. (Records
 * of an aborted transaction would show here too; the committed output is checked separately.)
 */
export async function outputReader(kafka: Kafka, topic: string): Promise<OutputReader> {
  const samples: OutputSample[] = [];
  const consumer = kafka.consumer({
    groupId: `bench-live-${randomUUID()}`,
    readUncommitted: true,
    maxWaitTimeInMs: 50,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const readAt = Date.now();
      for (const m of batch.messages) {
        const v = JSON.parse(m.value?.toString() ?? '{}') as { ts?: number };
        samples.push({ appendAt: Number(m.timestamp), producedAt: Number(v.ts), readAt });
      }
      return Promise.resolve();
    },
  });
  return { samples, close: () => consumer.disconnect() };
}

export interface Exactness {
  records: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  /** A few offending `user:n` values, to start looking from. */
  examples: string[];
}

/**
 * The committed output (Kafka's Java consumer, read_committed) against the input ledger: key u<k>
 * must have exactly the running counts 1..perKey[k], each once — a lost input record leaves a count
 * missing, one counted twice (replayed after a restore, or by two slots) a count duplicated or
 * past the input.
 */
export async function checkExactlyOnce(brokers: string[], topic: string, ledger: InputLedger): Promise<Exactness> {
  const check = new RunningCountCheck(ledger.perKey);
  const records = await forEachRecordWithJava(brokers.join(','), topic, 'read_committed', 600_000, (r) => {
    const v = JSON.parse(r.value) as { user: string; n: number };
    check.saw(v.user, v.n);
  });
  return { records, ...check.result() };
}

/**
 * Key u<k>'s running counts must be 1..perKey[k], each once: one bit per count seen (counts above
 * 31 in a side map), so millions of keys' output is checked as it streams by, nothing kept.
 */
class RunningCountCheck {
  private readonly want: Uint32Array;
  private readonly bits: Uint32Array;
  private readonly high = new Map<string, number>();
  private duplicated = 0;
  private unexpected = 0;
  private readonly examples: string[] = [];

  constructor(want: Uint32Array) {
    this.want = want;
    this.bits = new Uint32Array(want.length);
  }

  saw(user: string, n: number): void {
    const k = user.startsWith('u') ? Number(user.slice(1)) : NaN;
    const max = Number.isInteger(k) && k >= 0 && k < this.want.length ? (this.want[k] as number) : 0;
    if (!Number.isInteger(n) || n < 1 || n > max) {
      this.unexpected++;
      this.example(`${user}:${n}`);
      return;
    }
    let seen: boolean;
    if (n < 32) {
      const bit = 1 << n;
      seen = ((this.bits[k] as number) & bit) !== 0;
      this.bits[k] = (this.bits[k] as number) | bit;
    } else {
      const id = `${k}:${n}`;
      seen = this.high.has(id);
      this.high.set(id, 1);
    }
    if (seen) {
      this.duplicated++;
      this.example(`${user}:${n}`);
    }
  }

  result(): Omit<Exactness, 'records'> {
    let missing = 0;
    this.want.forEach((c, k) => {
      for (let n = 1; n <= c; n++) {
        const seen = n < 32 ? ((this.bits[k] as number) & (1 << n)) !== 0 : this.high.has(`${k}:${n}`);
        if (!seen) {
          missing++;
          this.example(`u${k}:${n}`);
        }
      }
    });
    return { missing, duplicated: this.duplicated, unexpected: this.unexpected, examples: this.examples };
  }

  private example(x: string): void {
    if (this.examples.length < 9) this.examples.push(x);
  }
}
