// At-least-once Kafka output under a real SIGKILL right after a checkpoint completes, with the
// sink's sends still unacknowledged: the local supervisor (`tributary run --distributed`, one
// process per slot, checkpoints every 150 ms) runs Kafka source → Kafka sink with
// `delivery: at-least-once`; the slot is SIGKILLed as soon as a checkpoint completes, and the
// supervisor restarts it from that checkpoint.
//
// What holds the acknowledgements back is the broker itself: a produce quota on the sink's client
// id (producer_byte_rate, set with Kafka's own kafka-configs tool) makes the broker throttle it,
// and kafkajs then keeps the following sends in its queue until the throttle ends. Before the
// sink awaited its sends at the barrier, the checkpoint completed with those records behind it
// and the kill lost them: the restart resumed the source after them. Now the checkpoint completes
// only once they are acknowledged. The quota is lifted after the kill so the rest runs at speed.
//
// The output is read by Kafka's Java consumer (read_uncommitted: plain sends, no transactions)
// and counted against the input: missing must be 0; duplicates are allowed (at-least-once) and
// reported. Rounds: TRIBUTARY_CHAOS_ROUNDS (default 1; `npm run soak` runs more), each with its
// own output topic and sink client id.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { reportSoakRound } from '../../../../test/harness/soak-report.ts';
import { CONTRACT_VERSION } from '../../control/contract.ts';
import { TributaryError } from '../../errors.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { Supervisor } from '../../process/supervisor.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { SlotKills } from '../../testing/slot-kills.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

const RECORDS = 6_000;
const ROUNDS = Number(process.env['TRIBUTARY_CHAOS_ROUNDS'] ?? 1);
/** Bytes per second the broker lets the sink's client id produce: far below what the job writes. */
const QUOTA = 4_096;

/** Sets (or, with undefined, removes) the produce quota of `clientId`, with Kafka's own kafka-configs. */
function produceQuota(brokers: string, clientId: string, bytesPerSecond: number | undefined): Promise<void> {
  const change =
    bytesPerSecond === undefined
      ? ['--delete-config', 'producer_byte_rate']
      : ['--add-config', `producer_byte_rate=${bytesPerSecond}`];
  const args = [
    '-cp',
    join(clusterPaths().kafkaLib, '*'),
    'kafka.admin.ConfigCommand',
    '--bootstrap-server',
    brokers,
    '--alter',
    ...change,
    '--entity-type',
    'clients',
    '--entity-name',
    clientId,
  ];
  return new Promise((resolve, reject) =>
    execFile('java', args, { timeout: 60_000 }, (err, _out, stderr) =>
      err
        ? reject(
            new TributaryError('TRIB_INVARIANT', `kafka-configs for ${clientId} failed: ${stderr}`, { cause: err }),
          )
        : resolve(),
    ),
  );
}

describe('at-least-once Kafka sink: SIGKILL right after a checkpoint, sends unacknowledged', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const input = `alo-in-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'trib-alo-'));
  let kafka: KafkaClient;
  let keep = false;
  const expected: string[] = [];

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'alo-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: 1 });
    const producer = inputProducer(kafka);
    await producer.connect();
    for (let i = 0; i < RECORDS; i++) expected.push(JSON.stringify({ id: i, pad: 'x'.repeat(24) }));
    for (let i = 0; i < RECORDS; i += 1000)
      await producer.send({ topic: input, messages: expected.slice(i, i + 1000).map((value) => ({ value })) });
    await producer.disconnect();
  }, 120_000);

  const quotas: string[] = [];
  afterAll(async () => {
    for (const clientId of quotas) await produceQuota(bs.join(','), clientId, undefined).catch(() => undefined);
    await deleteTopicsContaining(kafka, run);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  for (let round = 1; round <= ROUNDS; round++)
    it(`round ${round}/${ROUNDS}: restarts from the checkpoint with nothing missing (read_uncommitted by the Java consumer)`, async () => {
      const output = `alo-out-${round}-${run}`;
      const clientId = `alo-sink-${round}-${run}`;
      quotas.push(clientId);
      await createTopics(kafka, { [output]: 1 });
      await produceQuota(bs.join(','), clientId, QUOTA);
      const stateDir = join(dir, `state-${round}`);
      const graph: GraphSpec = {
        sources: [
          { name: 'in', kafka: { brokers: bs, topic: input, groupId: `alo-${round}-${run}`, bounded: 'latest' } },
        ],
        steps: [],
        sinks: [
          { name: 'out', from: 'in', kafka: { brokers: bs, topic: output, clientId, delivery: 'at-least-once' } },
        ],
      };
      validateGraph(graph);
      const kills = new SlotKills({ stateDir, logDir: dir });
      const sup = new Supervisor({
        config: {
          contractVersion: CONTRACT_VERSION,
          jobName: `alo-${round}-${run}`,
          graph,
          parallelism: 1,
          maxParallelism: 128,
          checkpointing: { intervalMs: 150, timeoutMs: 120_000, retained: 2 },
          stateDir,
          allowNonRestoredState: false,
        },
        logger: silentLogger(),
        maxRestarts: 3,
        backoffMs: 200,
        env: { TRIBUTARY_LOG_LEVEL: 'info' },
        ...kills.hooks(),
      });
      const done = kills.follow(sup.run());
      done.catch(() => undefined);
      await kills.started();
      // The first checkpoint that completes after the source read anything: its barrier followed records the
      // sink was still sending (throttled), and the kill comes as soon as it completes.
      await kills.nextCheckpoint(await kills.nextCheckpoint(undefined, 120_000), 120_000);
      const kill = await kills.killRunningSlot(0, 60_000);
      expect(kill, 'the job ended before the kill').toBeDefined();
      await produceQuota(bs.join(','), clientId, undefined);
      const result = await done.catch((e: unknown) => {
        keep = true;
        throw e;
      });
      expect(result.state).toBe('FINISHED');
      expect(result.restarts).toBeGreaterThanOrEqual(1);

      const got = (await readTopicWithJava(bs.join(','), output, 'read_uncommitted')).map((r) => r.value);
      const diff = reportSoakRound(
        { suite: 'at-least-once-kill', mode: 'kafka-sink', guarantee: 'at-least-once', round, kills: 1 },
        expected,
        got,
      );
      process.stderr.write(
        `at-least-once kill: ${got.length} records read for ${expected.length} written, missing ${diff.missing.length}, ` +
          `duplicated ${diff.duplicated.length}, unexpected ${diff.unexpected.length}; ${kills.summary()}\n`,
      );
      if (diff.missing.length > 0) keep = true;
      expect(diff.missing.length, `missing (first ${diff.missing.slice(0, 3).join(' ')}); logs in ${dir}`).toBe(0);
      expect(diff.unexpected).toEqual([]);
    }, 300_000);
});
