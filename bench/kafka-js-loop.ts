// The bare client loop of the Kafka bench, run as its own process (`node bench/kafka-js-loop.ts
// <brokers> <input topic> <output topic>`): one kafkajs consumer (eachBatch, from the start) →
// JSON.parse + JSON.stringify of each value → one idempotent kafkajs producer, acks=all, each
// fetched batch sent (in chunks the broker accepts) and awaited before the next. No framework:
// what one Node thread does with the same client, our ceiling at parallelism 1. It stops at the
// end offsets seen at start, like a `bounded: latest` source, and prints the records it copied.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { keyPartitioner } from '../runtime/src/connectors/kafka/client.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { batchCopied, endOffsets } from './kafka-loop-ends.ts';

const { Kafka, logLevel } = kafkajs;
// As the Kafka sink: kafkajs does not split a record batch, and the broker refuses one over 1 MiB.
const CHUNK = 2000;

const [brokers, input, output] = process.argv.slice(2);
if (brokers === undefined || input === undefined || output === undefined)
  throw new TributaryError('TRIB_CLI_USAGE', 'usage: kafka-js-loop.ts <brokers> <input topic> <output topic>');

const kafka = new Kafka({ clientId: 'bench-js-loop', brokers: brokers.split(','), logLevel: logLevel.ERROR });
const ends = await endOffsets(kafka, input);

const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: keyPartitioner });
const consumer = kafka.consumer({ groupId: `bench-js-loop-${randomUUID()}` });
await Promise.all([producer.connect(), consumer.connect()]);
await consumer.subscribe({ topic: input, fromBeginning: true });

let copied = 0;
const { promise: finished, resolve } = Promise.withResolvers<void>();
await consumer.run({
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    const messages = batch.messages.map((m) => ({
      value: JSON.stringify(JSON.parse((m.value as Buffer).toString('utf8'))),
    }));
    for (let i = 0; i < messages.length; i += CHUNK)
      await producer.send({ topic: output, acks: -1, messages: messages.slice(i, i + CHUNK) });
    copied += messages.length;
    batchCopied(ends, batch, resolveOffset);
    await heartbeat();
    if (ends.size === 0) resolve();
  },
});
if (ends.size === 0) resolve();
await finished;
await consumer.disconnect();
await producer.disconnect();
process.stdout.write(`${copied}\n`);
