// The bare client loop of the Kafka bench with the other pure-JavaScript client,
// @platformatic/kafka (`node bench/kafka-platformatic-loop.ts <brokers> <input> <output>`): the
// same minimum work as kafka-js-loop.ts (consume from the start → JSON.parse + JSON.stringify of
// each value → idempotent producer, acks=all, sends of up to 2,000 records awaited one at a
// time), so the two loops side by side in one run compare the clients, and either loop against
// `tributary q0 p1` bounds what the engine would gain from that client. It stops at the end
// offsets seen at start and prints the records it copied.
import { randomUUID } from 'node:crypto';
import { Consumer, Producer, type MessageToProduce } from '@platformatic/kafka';
import { TributaryError } from '../runtime/src/errors.ts';

const CHUNK = 2000;

const [brokers, input, output] = process.argv.slice(2);
if (brokers === undefined || input === undefined || output === undefined)
  throw new TributaryError(
    'TRIB_CLI_USAGE',
    'usage: kafka-platformatic-loop.ts <brokers> <input topic> <output topic>',
  );
const bootstrapBrokers = brokers.split(',');

const consumer = new Consumer({
  clientId: 'bench-platformatic-loop',
  groupId: `bench-pk-${randomUUID()}`,
  bootstrapBrokers,
});
const producer = new Producer({ clientId: 'bench-platformatic-loop', bootstrapBrokers, idempotent: true, acks: -1 });
const ends = new Map<number, bigint>();
for (const [p, high] of ((await consumer.listOffsets({ topics: [input] })).get(input) ?? []).entries())
  if (high > 0n) ends.set(p, high);

let copied = 0;
let pending: MessageToProduce[] = [];
const send = async (): Promise<void> => {
  const messages = pending;
  pending = [];
  if (messages.length > 0) await producer.send({ messages });
};
const { promise: finished, resolve, reject } = Promise.withResolvers<void>();
if (ends.size === 0) resolve();
else {
  const stream = await consumer.consume({
    topics: [input],
    mode: 'earliest',
    autocommit: false,
    maxBytes: 10 * 1024 * 1024, // kafkajs's defaults, as the other loop uses
    maxBytesPerPartition: 1024 * 1024,
  });
  let idle: NodeJS.Immediate | undefined;
  let sending = Promise.resolve();
  // One send in flight: the stream pauses while a full chunk is sent; the rest of a fetch goes
  // out once the stream has nothing more to hand over (setImmediate after its data events).
  const flush = (): void => {
    stream.pause();
    sending = sending.then(send).then(() => {
      if (ends.size === 0) resolve();
      else stream.resume();
    }, reject);
  };
  stream.on('error', reject);
  // A stream that ends before the end offsets fails the bench instead of hanging it.
  stream.on('close', () => {
    if (ends.size > 0)
      reject(new Error(`the consumer stream closed with partitions unread: ${[...ends.keys()].join(', ')}`));
  });
  stream.on('data', (m: { partition: number; offset: bigint; value: Buffer }) => {
    const end = ends.get(m.partition);
    if (end === undefined || m.offset >= end) return;
    pending.push({ topic: output, value: Buffer.from(JSON.stringify(JSON.parse(m.value.toString('utf8')))) });
    copied++;
    if (m.offset + 1n >= end) ends.delete(m.partition);
    if (pending.length >= CHUNK || ends.size === 0) flush();
    else
      idle ??= setImmediate(() => {
        idle = undefined;
        if (pending.length > 0) flush();
      });
  });
}
await finished;
await consumer.close(true);
await producer.close();
process.stdout.write(`${copied}\n`);
