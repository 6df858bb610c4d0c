// Against the real local Kafka broker: a step's dead letters (errorOutput) name the Kafka record
// their record came from. A job reads a topic of keyed records with headers, a filter passes
// them to a map whose expression fails on some, and the map's errorOutput goes to an
// exactly-once Kafka topic. Kafka's own Java consumer (read_committed) reads the dead letters,
// and each must carry the original key (as its Kafka key and in `origin`), value, headers (as
// its own first, then ours, and in `origin`), topic, partition and offset, as the Java consumer
// reads the input. A record without a timestamp sits among them, so the source drops one record
// of a poll and the origins of the rest must stay with their records. Then the same behind a
// keyBy, on two slot threads (the exchange crosses the data plane: graph/origin-exchanges.ts
// has it carry origins), and with the dead letters keyed again on their way to a second sink
// (they cross as JSON; the sink rebuilds their origin from it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopicWithJava, type JavaReadRecord } from '../../../../test/harness/java-topic-reader.ts';
import { CONTRACT_VERSION } from '../../control/contract.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { Supervisor } from '../../process/supervisor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

/** What a step's dead letter adds after the original headers, in order. */
const OURS = [
  'tributary.error.reason',
  'tributary.error.message',
  'tributary.error.step',
  'tributary.error.code',
  'tributary.source.topic',
  'tributary.source.partition',
  'tributary.source.offset',
  'tributary.source.name',
];

interface Letter {
  step: string;
  code?: string;
  record: unknown;
  origin?: {
    source: string;
    topic: string;
    partition: number;
    offset: string;
    encoding: string;
    key: string | null;
    value: string | null;
    headers: { key: string; value: string | null }[];
  };
}

const hex = (hs: readonly { key: string; value: Buffer | null }[]) =>
  hs.map((h) => [h.key, h.value === null ? null : h.value.toString('hex')]);
const b64hex = (hs: readonly { key: string; value: string | null }[]) =>
  hs.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value, 'base64').toString('hex')]);

/**
 * Each dead letter (in order) names its record of `bad` (the input as Java reads it) exactly: the
 * JSON `origin`, the Kafka key (the original), the original headers first, then ours.
 */
function expectLetters(letters: JavaReadRecord[], bad: JavaReadRecord[], topic: string, step: string): void {
  for (const [i, l] of letters.entries()) {
    const o = bad[i] as JavaReadRecord;
    const letter = JSON.parse(l.value) as Letter;
    expect({ step: letter.step, code: letter.code, record: letter.record }).toEqual({
      step,
      code: 'TRIB_EXPR_EVAL',
      record: JSON.parse(o.value),
    });
    // The JSON names the original exactly.
    const origin = letter.origin;
    expect({
      ...origin,
      key: origin?.key === null ? null : Buffer.from(origin?.key ?? '', 'base64').toString('hex'),
      value: Buffer.from(origin?.value ?? '', 'base64').toString(),
      headers: b64hex(origin?.headers ?? []),
    }).toEqual({
      source: 'in',
      topic,
      partition: o.partition,
      offset: String(o.offset),
      encoding: 'base64',
      key: o.keyBytes === null ? null : o.keyBytes.toString('hex'),
      value: o.value,
      headers: hex(o.headerList),
    });
    // The Kafka record: the original key, the original headers, then ours.
    expect(l.keyBytes === null ? null : l.keyBytes.toString('hex')).toBe(
      o.keyBytes === null ? null : o.keyBytes.toString('hex'),
    );
    const own = hex(l.headerList);
    const ours = OURS.map(
      (k) =>
        own.splice(
          own.findLastIndex(([n]) => n === k),
          1,
        )[0],
    );
    expect(own).toEqual(hex(o.headerList));
    expect(ours.map((h) => [h?.[0], Buffer.from(String(h?.[1]), 'hex').toString()])).toEqual([
      ['tributary.error.reason', 'step'],
      ['tributary.error.message', expect.stringContaining('int')],
      ['tributary.error.step', step],
      ['tributary.error.code', 'TRIB_EXPR_EVAL'],
      ['tributary.source.topic', topic],
      ['tributary.source.partition', String(o.partition)],
      ['tributary.source.offset', String(o.offset)],
      ['tributary.source.name', 'in'],
    ]);
  }
}

describe('step dead letters at Kafka', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const bs = testBrokers();
  const dirs: string[] = [];

  beforeAll(() => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('carry the original key, value, headers, topic, partition and offset (exactly-once, read by Java)', async () => {
    const topic = `it-sdl-in-${run}`;
    const output = `it-sdl-out-${run}`;
    const dlq = `it-sdl-dlq-${run}`;
    await createTopics(kafka, { [topic]: 2, [output]: 1, [dlq]: 1 });
    const ts = 1_700_000_000_000;
    const rec = (id: number, x: unknown, extra: object = {}) => JSON.stringify({ id, x, ts: ts + id, ...extra });
    // Per partition: good and bad records interleaved; a bad value with spacing a re-encoding would lose.
    const sent = [
      { partition: 0, key: 'user-1', value: rec(1, '10'), headers: { trace: Buffer.from([0x01]) } },
      {
        partition: 0,
        key: 'user-2',
        value: `{ "id": 2,  "x": "two", "ts": ${ts + 2} }`,
        headers: { trace: Buffer.from([0x00, 0xff, 0x80]), tag: [Buffer.from('a'), Buffer.from('b')] },
      },
      { partition: 0, key: 'user-3', value: JSON.stringify({ id: 3, x: '3' }) }, // no timestamp: skipped
      { partition: 0, key: null, value: rec(4, 'four'), headers: { empty: Buffer.alloc(0) } },
      { partition: 1, key: 'user-5', value: rec(5, '50') },
      {
        partition: 1,
        key: Buffer.from([0xc3, 0x28]),
        value: rec(6, ['six']),
        headers: { bin: Buffer.from([0xde, 0xad]) },
      },
      { partition: 1, key: 'user-7', value: rec(7, '70') },
      // A name of ours already on the record (a dead letter read again): both kept, ours last.
      { partition: 1, key: 'user-8', value: rec(8, { no: 8 }), headers: { 'tributary.error.step': 'upstream' } },
    ];
    const producer = inputProducer(kafka);
    await producer.connect();
    for (const m of sent) await producer.send({ topic, messages: [m] });
    await producer.disconnect();
    const input = await readTopicWithJava(bs.join(','), topic, 'read_uncommitted');
    expect(input).toHaveLength(sent.length);

    const stateDir = await mkdtemp(join(tmpdir(), 'trib-sdl-'));
    dirs.push(stateDir);
    const g = {
      sources: [
        {
          name: 'in',
          kafka: { brokers: bs, topic, groupId: `it-${run}`, bounded: 'latest' },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' },
        },
      ],
      steps: [
        { name: 'known', from: 'in', filter: 'id > 0' },
        { name: 'parsed', from: 'known', map: { id: 'id', n: 'int(x)' }, errorOutput: 'unparsed' },
      ],
      sinks: [
        { name: 'out', from: 'parsed', kafka: { brokers: bs, topic: output, delivery: 'exactly-once' } },
        { name: 'dead', from: 'unparsed', kafka: { brokers: bs, topic: dlq, delivery: 'exactly-once' } },
      ],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), {
      parallelism: 2,
      logger: silentLogger(),
      jobName: `sdl-${run}`,
      checkpointing: { stateDir, intervalMs: 500, timeoutMs: 30_000, retained: 1 },
    });
    expect((await job.run()).state).toBe('FINISHED');

    const out = await readTopicWithJava(bs.join(','), output, 'read_committed');
    expect(
      out.map((r) => JSON.parse(r.value) as unknown).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([
      { id: 1, n: 10 },
      { id: 5, n: 50 },
      { id: 7, n: 70 },
    ]);
    const letters = await readTopicWithJava(bs.join(','), dlq, 'read_committed');
    const byOffset = (l: JavaReadRecord) =>
      `${l.headers['tributary.source.partition']}@${l.headers['tributary.source.offset']}`;
    letters.sort((a, b) => byOffset(a).localeCompare(byOffset(b)));
    const bad = input
      .filter((r) => [2, 4, 6, 8].includes((JSON.parse(r.value) as { id: number }).id))
      .sort((a, b) => `${a.partition}@${a.offset}`.localeCompare(`${b.partition}@${b.offset}`));
    expect(letters.map(byOffset)).toEqual(bad.map((r) => `${r.partition}@${r.offset}`));
    expectLetters(letters, bad, topic, 'parsed');
  });

  it('behind a keyBy, across slot threads: the same origins; a letter keyed to its sink keeps key and headers', async () => {
    const topic = `it-sdlx-in-${run}`;
    const output = `it-sdlx-out-${run}`;
    const dlq = `it-sdlx-dlq-${run}`;
    const dlqKeyed = `it-sdlx-dlqk-${run}`;
    await createTopics(kafka, { [topic]: 2, [output]: 1, [dlq]: 1, [dlqKeyed]: 1 });
    const ts = 1_700_000_000_000;
    const rec = (id: number, x: unknown) => JSON.stringify({ id, user: `u${id % 5}`, x, ts: ts + id });
    const sent = Array.from({ length: 40 }, (_, i) => {
      const id = i + 1;
      const bad = id % 4 === 0;
      return {
        partition: id % 2,
        key: id % 8 === 0 ? null : id % 3 === 0 ? Buffer.from([0xc3, 0x28, id]) : `user-${id}`,
        value: bad ? `{ "id": ${id},  "user": "u${id % 5}", "x": "bad", "ts": ${ts + id} }` : rec(id, String(id)),
        headers: {
          trace: Buffer.from([0x00, 0xff, id]),
          ...(id % 3 === 0 ? { tag: [Buffer.from('a'), Buffer.alloc(0)] } : {}),
        },
      };
    });
    const producer = inputProducer(kafka);
    await producer.connect();
    for (const m of sent) await producer.send({ topic, messages: [m] });
    await producer.disconnect();
    const input = await readTopicWithJava(bs.join(','), topic, 'read_uncommitted');
    expect(input).toHaveLength(sent.length);

    const stateDir = await mkdtemp(join(tmpdir(), 'trib-sdlx-'));
    dirs.push(stateDir);
    const g = {
      sources: [
        {
          name: 'in',
          kafka: { brokers: bs, topic, groupId: `itx-${run}`, bounded: 'latest' },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' },
        },
      ],
      steps: [
        { name: 'by-user', from: 'in', keyBy: 'user' },
        { name: 'parsed', from: 'by-user', map: { id: 'id', n: 'int(x)' }, errorOutput: 'unparsed' },
        // Dead letters keyed again: they cross the data plane as JSON to their sink.
        { name: 'by-error', from: 'unparsed', keyBy: 'error' },
      ],
      sinks: [
        { name: 'out', from: 'parsed', kafka: { brokers: bs, topic: output, delivery: 'exactly-once' } },
        { name: 'dead', from: 'unparsed', kafka: { brokers: bs, topic: dlq, delivery: 'exactly-once' } },
        { name: 'dead-keyed', from: 'by-error', kafka: { brokers: bs, topic: dlqKeyed, delivery: 'exactly-once' } },
      ],
    } as unknown as GraphSpec;
    validateGraph(g);
    const sup = new Supervisor({
      config: {
        contractVersion: CONTRACT_VERSION,
        jobName: `sdlx-${run}`,
        graph: g,
        parallelism: 2,
        maxParallelism: 128,
        checkpointing: { intervalMs: 500, timeoutMs: 60_000, retained: 1 },
        stateDir,
        allowNonRestoredState: false,
      },
      host: 'thread',
      logger: silentLogger(),
      backoffMs: 100,
      stdio: 'pipe',
      env: { TRIBUTARY_LOG_LEVEL: 'warn' },
      onAttempt: (a) => {
        for (const s of a.slots) {
          s.child.stdout?.resume();
          s.child.stderr?.resume();
        }
      },
    });
    expect(await sup.run()).toMatchObject({ state: 'FINISHED', attempts: 1 });

    const out = await readTopicWithJava(bs.join(','), output, 'read_committed');
    expect(out).toHaveLength(30);
    const bad = input
      .filter((r) => (JSON.parse(r.value) as { id: number }).id % 4 === 0)
      .sort((a, b) => `${a.partition}@${a.offset}`.localeCompare(`${b.partition}@${b.offset}`));
    const byOffset = (l: JavaReadRecord) =>
      `${l.headers['tributary.source.partition']}@${l.headers['tributary.source.offset']}`;
    for (const t of [dlq, dlqKeyed]) {
      const letters = await readTopicWithJava(bs.join(','), t, 'read_committed');
      letters.sort((a, b) => byOffset(a).localeCompare(byOffset(b)));
      expect(letters.map(byOffset)).toEqual(bad.map((r) => `${r.partition}@${r.offset}`));
      expectLetters(letters, bad, topic, 'parsed');
    }
  });
});
