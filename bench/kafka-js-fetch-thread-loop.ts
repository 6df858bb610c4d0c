// The bare client loop of the Kafka bench with its consumer on a thread of its own (`node
// bench/kafka-js-fetch-thread-loop.ts <brokers> <input topic> <output topic>`): what taking
// kafkajs's fetch and decode off the task thread could give before the engine does it. A worker
// runs the kafkajs consumer (fetch, decompression, the record batch's decoding) and hands each
// fetched batch's values to the main thread as one transferred buffer. The main thread does what
// kafka-js-loop.ts does with them: JSON.parse + JSON.stringify, then one idempotent producer,
// acks=all, each batch sent and awaited. Two batches may be in flight between the threads, so
// the next fetch overlaps the current send. It stops at the end offsets seen at start and prints
// the records it copied.
import { randomUUID } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import kafkajs from 'kafkajs';
import { keyPartitioner } from '../runtime/src/connectors/kafka/client.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { batchCopied, endOffsets } from './kafka-loop-ends.ts';

const { Kafka, logLevel } = kafkajs;
const CHUNK = 2000;
const IN_FLIGHT = 2;

interface FetchedBatch {
  /** Every value of the batch, back to back. */
  bytes: ArrayBuffer;
  lengths: Uint32Array;
}

interface FetcherData {
  brokers: string[];
  input: string;
  ends: Map<number, number>;
}

/** The worker: consumes `input` to the end offsets and posts each batch's values, at most IN_FLIGHT unacknowledged. */
async function fetcher({ brokers, input, ends }: FetcherData): Promise<void> {
  const port = parentPort as NonNullable<typeof parentPort>;
  let unacked = 0;
  let wakeAck: (() => void) | undefined;
  port.on('message', () => {
    unacked--;
    wakeAck?.();
  });
  const kafka = new Kafka({ clientId: 'bench-fetch-thread', brokers, logLevel: logLevel.ERROR });
  // A fetch that finds nothing new returns after 250 ms (our source's setting), not kafkajs's 5 s:
  // the last one is still waiting when the loop ends, and disconnect() waits for it.
  const consumer = kafka.consumer({ groupId: `bench-fetch-thread-${randomUUID()}`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const { promise: finished, resolve } = Promise.withResolvers<void>();
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const n = batch.messages.length;
      const lengths = new Uint32Array(n);
      let total = 0;
      for (let i = 0; i < n; i++) total += lengths[i] = (batch.messages[i]?.value as Buffer).length;
      const bytes = new ArrayBuffer(total);
      const view = new Uint8Array(bytes);
      let at = 0;
      for (const m of batch.messages) {
        view.set(m.value as Buffer, at);
        at += (m.value as Buffer).length;
      }
      while (unacked >= IN_FLIGHT) await new Promise<void>((r) => (wakeAck = r));
      unacked++;
      port.postMessage({ bytes, lengths } satisfies FetchedBatch, [bytes, lengths.buffer]);
      batchCopied(ends, batch, resolveOffset);
      await heartbeat();
      if (ends.size === 0) resolve();
    },
  });
  if (ends.size === 0) resolve();
  await finished;
  while (unacked > 0) await new Promise<void>((r) => (wakeAck = r));
  await consumer.disconnect();
  port.postMessage('done');
}

async function main(): Promise<void> {
  const [brokers, input, output] = process.argv.slice(2);
  if (brokers === undefined || input === undefined || output === undefined)
    throw new TributaryError(
      'TRIB_CLI_USAGE',
      'usage: kafka-js-fetch-thread-loop.ts <brokers> <input topic> <output topic>',
    );
  const kafka = new Kafka({ clientId: 'bench-fetch-thread', brokers: brokers.split(','), logLevel: logLevel.ERROR });
  const ends = await endOffsets(kafka, input);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: keyPartitioner });
  await producer.connect();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { brokers: brokers.split(','), input, ends } satisfies FetcherData,
  });
  let copied = 0;
  // Batches are sent in arrival order, one at a time, as the one-thread loop sends them.
  let sending = Promise.resolve();
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  worker.on('error', reject);
  worker.on('message', (m: FetchedBatch | 'done') => {
    if (m === 'done') {
      void sending.then(resolve, reject);
      return;
    }
    sending = sending.then(async () => {
      const bytes = Buffer.from(m.bytes);
      const messages = new Array<{ value: string }>(m.lengths.length);
      let at = 0;
      for (let i = 0; i < m.lengths.length; i++) {
        const end = at + (m.lengths[i] as number);
        messages[i] = { value: JSON.stringify(JSON.parse(bytes.toString('utf8', at, end))) };
        at = end;
      }
      for (let i = 0; i < messages.length; i += CHUNK)
        await producer.send({ topic: output, acks: -1, messages: messages.slice(i, i + CHUNK) });
      copied += messages.length;
      worker.postMessage('ack');
    });
    sending.catch(reject);
  });
  await done;
  await worker.terminate();
  await producer.disconnect();
  process.stdout.write(`${copied}\n`);
}

if (isMainThread) await main();
else await fetcher(workerData as FetcherData);
