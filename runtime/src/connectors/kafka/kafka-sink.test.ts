// The at-least-once Kafka sink at a checkpoint barrier: preCommit sends what lingers, waits for
// the acknowledgement of every send started before the barrier, and declines the checkpoint when
// one failed. The producer is a hand-written one that holds each send until the test acknowledges
// or fails it: the broker cannot hold (or fail) a chosen send on demand. The real-broker, real
// SIGKILL proof is at-least-once.chaos.int.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer, ProducerRecord } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../../checkpoint/coordinator.ts';
import { isTributaryError } from '../../errors.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec, KafkaSinkSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { idBatch } from '../../testing/channel-batches.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';
import { validateGraph } from '../validate-graph.ts';
import { KafkaSink } from './kafka-sink.ts';

interface HeldSend {
  record: ProducerRecord;
  ack(): void;
  fail(e: Error): void;
}

/** A KafkaSink whose producer holds every send until the test settles it. */
class HeldSendsSink extends KafkaSink {
  readonly sends: HeldSend[] = [];
  protected override createProducer(): Producer {
    const producer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: (record: ProducerRecord) =>
        new Promise((resolve, reject) => {
          this.sends.push({ record, ack: () => resolve([]), fail: reject });
        }),
    };
    return producer as unknown as Producer;
  }
}

const spec: KafkaSinkSpec = { brokers: '127.0.0.1:1', topic: 'held-out' };

const ctx = (): SinkWriterContext => ({
  sinkName: 'out',
  slot: 0,
  parallelism: 1,
  logger: silentLogger(),
  wake: () => undefined,
});

/** Whether `p` settled within a few turns of the event loop (no timers involved). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
  return done;
}

const ids = (s: HeldSend): number[] => s.record.messages.map((m) => (JSON.parse(String(m.value)) as { id: number }).id);

describe('at-least-once Kafka sink at a checkpoint barrier', () => {
  it('sends what lingers and resolves only once every send before the barrier is acknowledged', async () => {
    const sink = new HeldSendsSink(spec);
    await sink.open(ctx());
    sink.write(idBatch(0, 3)); // lingers (sent after LINGER_MS, or at the barrier)
    expect(sink.sends).toHaveLength(0);
    const pre = sink.preCommit(1);
    expect(sink.sends.map(ids)).toEqual([[0, 1, 2]]); // the barrier sent it at once
    sink.write(idBatch(3, 2)); // after the barrier: the next checkpoint's
    await expect.poll(() => sink.sends.length).toBe(2); // its linger sent it; still unacknowledged
    expect(await settled(pre)).toBe(false);
    sink.sends[0]?.ack();
    await expect(pre).resolves.toEqual([]); // the later send does not hold the barrier up
    sink.sends[1]?.ack();
    await sink.close();
  });

  it('rejects, naming the sink, the topic and the checkpoint, when a send before the barrier fails', async () => {
    const sink = new HeldSendsSink(spec);
    await sink.open(ctx());
    sink.write(idBatch(0, 3));
    const pre = sink.preCommit(7);
    expect(await settled(pre)).toBe(false);
    sink.sends[0]?.fail(new Error('NOT_LEADER_FOR_PARTITION'));
    const err = await pre.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(err) && err.code).toBe('TRIB_CONNECTOR_FAILED');
    expect((err as Error).message).toBe(
      'sink "out": send to held-out failed (checkpoint 7 declined): NOT_LEADER_FOR_PARTITION',
    );
    await expect(sink.close()).rejects.toMatchObject({ code: 'TRIB_CONNECTOR_FAILED' });
  });
});

describe('a job whose at-least-once Kafka send fails after the barrier passed the sink', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  // Before preCommit awaited the sends, the checkpoint completed with the source past records
  // whose send then failed: the job failed, and its restart from that checkpoint skipped them.
  it('declines the checkpoint and fails the job: no completed checkpoint is past an unacknowledged record', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-alo-sink-'));
    dirs.push(stateDir);
    const graph: GraphSpec = {
      sources: [
        { name: 'events', datagen: { generator: 'schema', count: 1_000_000, fields: { id: { type: 'sequence' } } } },
      ],
      steps: [],
      sinks: [{ name: 'out', from: 'events', kafka: { ...spec, delivery: 'at-least-once' } }],
    };
    let sink: HeldSendsSink | undefined;
    let barrierAtSink!: () => void;
    const barrier = new Promise<'barrier at the sink'>((r) => (barrierAtSink = () => r('barrier at the sink')));
    const job = await createJobExecutor(validateGraph(graph), {
      parallelism: 1,
      logger: silentLogger(),
      checkpointing: { stateDir, intervalMs: 0, timeoutMs: 30_000 },
      sinkWriter: (s): SinkWriter => {
        const inner = (sink = new HeldSendsSink(s.kafka as KafkaSinkSpec));
        // Delegates everything; tells the test when the barrier reached the sink (old sinks had no preCommit).
        const writer: SinkWriter = {
          open: (c) => inner.open(c),
          write: (b) => inner.write(b),
          get backpressured() {
            return inner.backpressured;
          },
          close: () => inner.close(),
        };
        const pre = (inner as Partial<Pick<SinkWriter, 'preCommit'>>).preCommit;
        if (pre)
          writer.preCommit = (id) => {
            barrierAtSink();
            return pre.call(inner, id);
          };
        return writer;
      },
    });
    const run = job.run();
    run.catch(() => undefined);
    await expect.poll(() => sink?.sends.length ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    const checkpoint = job.triggerCheckpoint();
    checkpoint.catch(() => undefined);
    const first = await Promise.race([
      barrier,
      checkpoint.then(
        () => 'checkpoint completed with its records unacknowledged' as const,
        () => 'checkpoint failed before the barrier reached the sink' as const,
      ),
    ]);
    expect(first).toBe('barrier at the sink');
    for (const s of sink?.sends ?? []) s.fail(new Error('broker said no'));
    await expect(checkpoint).rejects.toThrow();
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause)
      chain.push(`${isTributaryError(e) ? e.code : e.name}: ${e.message}`);
    expect(chain.join(' <- ')).toMatch(/TRIB_CONNECTOR_FAILED: sink "out": send to held-out failed.*broker said no/);
    expect(await latestCheckpointPath(stateDir)).toBeUndefined();
  });
});
