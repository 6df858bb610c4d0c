// The CPU an idle Kafka connection costs: a kafkajs producer, a consumer on an empty topic and
// an admin client, connected and then left idle, in a child process each, with the connectors'
// kafkajs patches loaded (as every slot loads them) and with plain kafkajs. kafkajs 2.2.4 polls
// each connection's request queue every millisecond once it has had a response
// (connectors/kafka/kafkajs-request-queue.ts); the figures are CPU ms over the idle window, the
// two variants alternating round by round, and their ratio.
// Needs the local cluster's Kafka (TRIBUTARY_KAFKA_BROKERS); skipped with a message otherwise.
// Env: BENCH_KAFKA_IDLE_SECONDS (default 5), BENCH_ROUNDS (default 3).
// Run alone: BENCH_ONLY=kafka-idle npm run bench
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { TributaryError } from '../runtime/src/errors.ts';
import { createTopics, deleteTopicsContaining } from '../runtime/src/testing/kafka-topics.ts';

const root = join(import.meta.dirname, '..');
const node = join(root, 'node_modules/.bin/node');
const patches = join(root, 'runtime/src/connectors/kafka/kafkajs-read-committed.ts');

function child(withPatches: boolean, brokers: string[], topic: string, idleMs: number): number {
  const script = `
    ${withPatches ? `await import(${JSON.stringify(patches)});` : ''}
    const { Kafka, logLevel } = (await import('kafkajs')).default;
    const kafka = new Kafka({ brokers: ${JSON.stringify(brokers)}, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: ${JSON.stringify(`${topic}-g-${String(withPatches)}`)} });
    const admin = kafka.admin();
    await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
    await producer.send({ topic: ${JSON.stringify(`${topic}-out`)}, messages: [{ value: 'x' }] });
    await consumer.subscribe({ topic: ${JSON.stringify(topic)} });
    await consumer.run({ eachMessage: async () => undefined });
    await admin.fetchTopicOffsets(${JSON.stringify(topic)});
    await new Promise((r) => setTimeout(r, 1000)); // the group join settles
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, ${idleMs}));
    const c = process.cpuUsage(c0);
    process.stdout.write(String((c.user + c.system) / 1000));
    await Promise.all([producer.disconnect(), consumer.disconnect(), admin.disconnect()]);
  `;
  const r = spawnSync(node, ['--no-warnings', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: idleMs + 60_000,
  });
  const cpuMs = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isFinite(cpuMs))
    throw new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `idle client child failed (exit ${String(r.status)}, ${r.signal ?? 'no signal'}): ${r.stderr.slice(-500)}`,
      { cause: r.error },
    );
  return cpuMs;
}

export async function kafkaIdleBenchmarks(): Promise<void> {
  const seconds = Number(process.env['BENCH_KAFKA_IDLE_SECONDS'] ?? 5);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  process.stdout.write(
    `\nidle Kafka clients: CPU ms of a connected producer + consumer (empty topic) + admin over ${seconds} s idle, best of ${rounds}\n`,
  );
  const brokersEnv = process.env['TRIBUTARY_KAFKA_BROKERS'];
  if (!brokersEnv) {
    process.stdout.write('  skipped: no Kafka (TRIBUTARY_KAFKA_BROKERS unset: eval "$(npm run -s cluster -- env)")\n');
    return;
  }
  const brokers = brokersEnv.split(',');
  const topic = `bench-idle-${randomUUID().slice(0, 8)}`;
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  await createTopics(kafka, { [topic]: 4, [`${topic}-out`]: 4 });
  try {
    const best = { patched: Infinity, plain: Infinity };
    for (let r = 0; r < rounds; r++) {
      best.plain = Math.min(best.plain, child(false, brokers, topic, seconds * 1000));
      best.patched = Math.min(best.patched, child(true, brokers, topic, seconds * 1000));
    }
    process.stdout.write(`  plain kafkajs 2.2.4         ${best.plain.toFixed(0)} ms CPU\n`);
    process.stdout.write(
      `  with the connectors' patches ${best.patched.toFixed(0)} ms CPU (${(best.patched / best.plain).toFixed(2)}× plain)\n`,
    );
  } finally {
    await deleteTopicsContaining(kafka, topic);
  }
}
