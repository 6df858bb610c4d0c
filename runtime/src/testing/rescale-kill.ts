// What the kill matrices of a live rescale share (cli/rescale-kill*.chaos.int.test.ts): the input (KEYS keys,
// CHUNKS chunks of PER_CHUNK records, ids ascending per key), its reference output (every key's counts 1..n
// with its n-th id), the job's manifest, the runtime's JSON log lines, and the verdict of Kafka's Java
// read_committed reader against the reference.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { TributaryError } from '../errors.ts';
import { inputProducer } from './kafka-topics.ts';

export type DeliveryDiff = ReturnType<typeof deliveryDiff>;

export const KEYS = 40;
export const CHUNKS = 24;
export const PER_CHUNK = 100;
export const RECORDS = CHUNKS * PER_CHUNK;
/** Chunks written before the job starts: state in every key group that moves. */
export const BEFORE = 8;
export const TOKEN = 'rescale-kill-token';
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A JSON log line of the runtime (or of its local supervisor), as far as the matrices read it. */
export interface LogLine {
  msg?: string;
  phase?: string;
  step?: number;
  steps?: number;
  slot?: number;
  pid?: number;
  attempt?: number;
  failure?: string;
  slots?: { slot: number; pid: number }[];
}

export const phase =
  (name: string) =>
  (l: LogLine): boolean =>
    l.msg === 'live rescale phase' && l.phase === name;
export const rescaleDone = (l: LogLine): boolean => l.msg === 'live rescale done';
/** Half-way through the steps: steps before it moved and were checkpointed, those after it did not. */
export const midStep = (l: LogLine): boolean =>
  l.msg === 'live rescale step done' && (l.step ?? 0) >= Math.max(1, Math.floor((l.steps ?? 0) / 2));

/** Slot 0's control port of the newest attempt of a supervised run (each attempt logs its own). */
export const newestControlPort = (stderr: string): string | undefined =>
  [...stderr.matchAll(/"url":"http:\/\/127\.0\.0\.1:(\d+)\/v1\/status"/g)].at(-1)?.[1];

export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n'))
    if (line.startsWith('{'))
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        // a line still being written
      }
  return out;
}

export function reference(): string[] {
  const seen = new Map<string, number>();
  return Array.from({ length: RECORDS }, (_, id) => {
    const k = `k${id % KEYS}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return `${k}:${n}:${id}`;
  });
}

/** Each key's last output record, `k:n:maxId`. */
export const lastPerKey: ReadonlySet<string> = new Set(reference().slice(-KEYS));

/** Chunks `first`..`last`−1 (ids ascend per key), `pauseMs` apart; chunk `gate[0]` waits for `gate[1]`. */
export async function writeChunks(
  k: Kafka,
  topic: string,
  first: number,
  last: number,
  pauseMs: number,
  gate?: [number, Promise<unknown>],
): Promise<void> {
  const producer = inputProducer(k);
  await producer.connect();
  for (let c = first; c < last; c++) {
    if (gate && c === gate[0]) await gate[1];
    const messages = Array.from({ length: PER_CHUNK }, (_, j) => {
      const id = c * PER_CHUNK + j;
      return { key: `k${id % KEYS}`, value: JSON.stringify({ id, k: `k${id % KEYS}` }) };
    });
    await producer.send({ topic, messages });
    if (pauseMs > 0) await sleep(pauseMs);
  }
  await producer.disconnect();
}

export interface OutputWatch {
  /** Whether every value of `all` was written (committed or not). */
  has(all: ReadonlySet<string>): boolean;
  /** Distinct values written so far (committed or not). */
  size(): number;
  stop(): Promise<void>;
}

/** Output values (`k:n:maxId`) read_uncommitted as they arrive, until stop(). */
export async function watchOutput(k: Kafka, topic: string): Promise<OutputWatch> {
  const seen = new Set<string>();
  const consumer = k.consumer({ groupId: `rescale-kill-watch-${randomUUID()}`, readUncommitted: true });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const v = JSON.parse(message.value?.toString() ?? '{}') as { k: string; n: number; maxId: number };
      seen.add(`${v.k}:${v.n}:${v.maxId}`);
      return Promise.resolve();
    },
  });
  return {
    has: (all) => [...all].every((x) => seen.has(x)),
    size: () => seen.size,
    stop: () => consumer.disconnect(),
  };
}

/** Kafka → keyBy → rolling count → exactly-once Kafka, checkpointed every 200 ms. */
export const killManifest = (bs: string[], name: string, replicas: number, input: string, output: string) => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'StreamJob',
  metadata: { name },
  spec: {
    replicas,
    maxParallelism: 128,
    checkpointing: { interval: '200ms' },
    graph: {
      sources: [{ name: 'events', kafka: { brokers: bs.join(','), topic: input, format: 'json' } }],
      steps: [
        { name: 'byKey', from: 'events', keyBy: 'k' },
        { name: 'running', from: 'byKey', aggregate: { n: 'count()', maxId: 'max(id)' } },
      ],
      sinks: [{ name: 'out', from: 'running', kafka: { brokers: bs.join(','), topic: output, key: 'k' } }],
    },
  },
});

/** What Kafka's Java read_committed consumer reads of `output`, against the reference. */
export async function committedDiff(bs: string[], output: string): Promise<DeliveryDiff> {
  const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) => {
    const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
    return `${v.k}:${v.n}:${v.maxId}`;
  });
  return deliveryDiff(reference(), got);
}

export const counts = (d: DeliveryDiff): { missing: number; duplicated: number; unexpected: number } => ({
  missing: d.missing.length,
  duplicated: d.duplicated.length,
  unexpected: d.unexpected.length,
});

/**
 * Resolves once a checkpoint triggered after this call completed (the second to complete after it: the first may
 * have been triggered before). `last` reads the newest completed checkpoint (GET /v1/status's lastCheckpoint).
 */
export async function checkpointTriggeredAfterNow(
  last: () => Promise<{ id: number; completedAt: string } | undefined>,
  timeoutMs = 60_000,
): Promise<void> {
  const since = new Date().toISOString();
  const after = async (): Promise<number> => {
    const c = await last();
    return c && c.completedAt > since ? c.id : -1;
  };
  const until = async (ok: (id: number) => boolean, what: string): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const id = await after();
      if (ok(id)) return id;
      if (Date.now() > deadline) throw new TributaryError('TRIB_INVARIANT', `no ${what} within ${timeoutMs} ms`);
      await sleep(250);
    }
  };
  const first = await until((id) => id > 0, 'checkpoint completed after the output was read');
  await until((id) => id > first, `checkpoint completed after checkpoint ${first}`);
}
