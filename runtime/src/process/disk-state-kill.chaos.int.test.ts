// Kill test of the disk state backend under a capped heap, with the real Kafka broker: a rolling
// aggregate (keyBy id → aggregate {n: count(), total: sum(amount)}, no window: its whole state is
// keyed state, which the disk backend keeps in lmdb) reads a 4-partition topic in which most of
// KEYS keys come once and a quarter twice, and writes every running result to another topic
// exactly-once. It runs as `tributary run --distributed` does (the local supervisor, one process
// per slot, parallelism 2, checkpoints every second on the cluster's S3 bucket) with
// `stateBackend: {kind: disk, cacheEntries: 5000}` and every slot process's old generation capped
// (NODE_OPTIONS=--max-old-space-size=96). A running slot is SIGKILLed soon after the first
// completed checkpoint, and again once the slots have held half the keys; the supervisor restarts
// all slots from the latest checkpoint, whose keyed state they load into fresh stores. The output
// read with read_committed must equal the expected one exactly (same multiset), which is
// computed, not run: per key, in its partition's order, n = 1..c and the running sum.
//
// The contrast: the same job on the heap backend, under the same cap, runs out of heap, with
// fewer keys per slot than each disk slot then holds (both read from the slots'
// tributary_state_keys gauge).
//
// Why 96 MiB, not 64: a 64 MiB slot cannot run a Kafka → Kafka job at all. kafkajs decodes a whole
// fetch (1 MiB per partition by default) into an object per record, key and value; with records
// this small, a slot reading two partitions held ~58 MiB after full collections with ~6,000 keys
// of state (TRIB_STATE_MEMORY_LIMIT), and a stateless pass-through of this input failed at 64 and
// 96 MiB on one thread (4 partitions). The heap backend's ~257,000 keys in 64 MiB were measured
// with a datagen source (heap-limit.test.ts).
//
// Size: TRIBUTARY_DISK_KILL_KEYS keys (default 640,000: 320,000 per slot; the heap backend's slots
// failed at ~155,000) and 1.25 × that many records; TRIBUTARY_DISK_KILL_KILLS kills at most
// (default 2); TRIBUTARY_DISK_KILL_HEAP_MIB the cap (default 96). The 10× claim:
// TRIBUTARY_DISK_KILL_KEYS=5200000.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../testing/kafka-topics.ts';
import { REPO_NODE } from '../testing/cli-process.ts';
import { SlotKills } from '../testing/slot-kills.ts';
import { reportSoakRound } from '../../../test/harness/soak-report.ts';
import { SLOT_NODE_FLAGS } from './slot-node-flags.ts';
import { Supervisor } from './supervisor.ts';
import { SlotGauges } from '../testing/slot-gauges.ts';

const { Kafka, logLevel } = kafkajs;
const KEYS = Number(process.env['TRIBUTARY_DISK_KILL_KEYS'] ?? 640_000);
const MAX_KILLS = Number(process.env['TRIBUTARY_DISK_KILL_KILLS'] ?? 2);
/** Records i < KEYS bring each key once; the rest bring keys 0..KEYS/4 a second time. */
const RECORDS = KEYS + Math.floor(KEYS / 4);
const PARTITIONS = 4;
const PARALLELISM = 2;
const HEAP_MIB = Number(process.env['TRIBUTARY_DISK_KILL_HEAP_MIB'] ?? 96);
const NODE_OPTIONS = `--max-old-space-size=${HEAP_MIB}`;
const CACHE_ENTRIES = 5000;
/** Keys of a rolling count one 64 MiB heap held when it failed (measured; heap-limit.test.ts's job). */
const HEAP_BACKEND_KEYS = 257_000;
const STEP = 'totals';
/** Timeouts grow with the input (the default size: 1): the job's run, and reading its output. */
const SCALE = Math.max(1, KEYS / 640_000);
const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Record i of the input: its key, the key's partition (so a key's records keep their order) and its amount. */
function inputRecord(i: number): { id: number; partition: number; amount: number } {
  const id = i % KEYS;
  return { id, partition: id % PARTITIONS, amount: (i % 7) + 1 };
}

/** An output record as compared: `id|n|total`, whatever the order of its fields. */
function canonical(value: string): string {
  const r = JSON.parse(value) as { id?: unknown; n?: unknown; total?: unknown };
  return `${String(r.id)}|${String(r.n)}|${String(r.total)}`;
}

/** What the job must write: per key, one result per record, n = 1..c with the running sum (input order). */
function expectedOutput(): string[] {
  const n = new Uint8Array(KEYS);
  const total = new Uint32Array(KEYS);
  const out: string[] = new Array<string>(RECORDS);
  for (let i = 0; i < RECORDS; i++) {
    const { id, amount } = inputRecord(i);
    n[id] = (n[id] as number) + 1;
    total[id] = (total[id] as number) + amount;
    out[i] = `${id}|${n[id]}|${total[id]}`;
  }
  return out.sort();
}

/** Writes the input in batches, each record to its key's partition, in record order. */
async function produceInput(kafka: KafkaClient, topic: string): Promise<void> {
  const producer = inputProducer(kafka);
  await producer.connect();
  try {
    const BATCH = 20_000;
    for (let start = 0; start < RECORDS; start += BATCH) {
      const messages = Array.from({ length: Math.min(BATCH, RECORDS - start) }, (_, j) => {
        const { id, partition, amount } = inputRecord(start + j);
        return { key: String(id), partition, value: JSON.stringify({ id, amount }) };
      });
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

function graph(bs: string[], input: string, output: string): GraphSpec {
  return {
    sources: [
      { name: 'events', kafka: { brokers: bs, topic: input, groupId: `disk-kill-${randomUUID()}`, bounded: 'latest' } },
    ],
    steps: [
      { name: 'by-id', from: 'events', keyBy: 'id' },
      { name: STEP, from: 'by-id', aggregate: { n: 'count()', total: 'sum(amount)' } },
    ],
    sinks: [{ name: 'out', from: STEP, kafka: { brokers: bs, topic: output, key: 'id', delivery: 'exactly-once' } }],
  };
}

/** The output's values, canonical and sorted (read_committed unless asked; `origin` notes where each sits). */
async function readOutput(
  kafka: KafkaClient,
  topic: string,
  o: { expected: number; timeoutMs?: number; readUncommitted?: boolean; origin?: Map<string, string> },
): Promise<string[]> {
  const recs = await readTopic(kafka, topic, {
    expected: o.expected,
    timeoutMs: o.timeoutMs ?? 120_000 * SCALE,
    settleMs: 2000,
    readUncommitted: o.readUncommitted ?? false,
  });
  return recs
    .map((r) => {
      const v = canonical(r.value);
      o.origin?.set(v, `p${r.partition}@${r.offset}`);
      return v;
    })
    .sort();
}

/** Counts of `list` by a key's record number n and by the key's input partition. */
function breakdown(list: readonly string[]): string {
  const by = new Map<string, number>();
  for (const x of list) {
    const [id, n] = x.split('|');
    const k = `n=${n}/p${Number(id) % PARTITIONS}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries([...by].sort()));
}

/** A readable account of a difference: what is missing or doubled, and whether missing results were written at all. */
async function explain(
  kafka: KafkaClient,
  topic: string,
  diff: { missing: string[]; duplicated: string[]; unexpected: string[] },
): Promise<string> {
  await sleep(10_000);
  const late = new Set(await readOutput(kafka, topic, { expected: RECORDS, timeoutMs: 60_000 }));
  const origin = new Map<string, string>();
  await readOutput(kafka, topic, {
    expected: Number.MAX_SAFE_INTEGER,
    timeoutMs: 60_000,
    readUncommitted: true,
    origin,
  });
  const written = diff.missing.filter((x) => origin.has(x));
  return [
    `missing ${diff.missing.length}, duplicated ${diff.duplicated.length}, unexpected ${diff.unexpected.length}`,
    `missing still missing in a re-read 10 s later (read_committed): ${diff.missing.filter((x) => !late.has(x)).length}`,
    `missing but present read_uncommitted (written, then aborted or never committed): ${written.length}, e.g. ${written
      .slice(0, 5)
      .map((x) => `${x}@${origin.get(x)}`)
      .join(', ')}`,
    `missing by n/input partition: ${breakdown(diff.missing)}`,
    `duplicated by n/input partition: ${breakdown(diff.duplicated)}`,
    `first missing: ${diff.missing.slice(0, 5).join(' ')}; first duplicated: ${diff.duplicated.slice(0, 5).join(' ')}; first unexpected: ${diff.unexpected.slice(0, 5).join(' ')}`,
  ].join('\n');
}

/** The heap limit (MiB) of a slot process: the slot's Node, its flags and NODE_OPTIONS as the supervisor passes it. */
function slotHeapLimitMiB(): number {
  const r = spawnSync(REPO_NODE, [...SLOT_NODE_FLAGS, '-p', 'require("node:v8").getHeapStatistics().heap_size_limit'], {
    env: { ...process.env, NODE_OPTIONS },
    encoding: 'utf8',
  });
  return Math.round(Number(r.stdout.trim()) / MiB);
}

/** NODE_OPTIONS of a running process, from its environment (Linux). */
function nodeOptionsOf(pid: number): string | undefined {
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return env.find((e) => e.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length);
}

describe('disk state backend under a capped heap: SIGKILL a slot process, exactly-once output', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const input = `disk-kill-in-${run}`;
  const bs = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-disk-kill-'));
  // The slot processes inherit the TRIBUTARY_S3_* variables the cluster's env gives this process.
  const bucket = process.env['TRIBUTARY_S3_BUCKET'];
  const s3Root = `s3://${bucket}/tests/disk-kill-${run}`;
  let expected: string[] = [];
  /** Keys the heap backend held when it failed under the same cap (the companion test), else the measured figure. */
  let heapBackendKeys = HEAP_BACKEND_KEYS;
  let keep = false;

  beforeAll(async () => {
    expect(bucket, 'TRIBUTARY_S3_BUCKET: start the local cluster with --with s3 and eval its env').toBeTruthy();
    kafka = new Kafka({ clientId: 'disk-kill', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: PARTITIONS });
    const t0 = Date.now();
    await produceInput(kafka, input);
    expected = expectedOutput();
    process.stderr.write(`disk kill: ${RECORDS} records over ${KEYS} keys produced in ${Date.now() - t0} ms\n`);
  }, 600_000);

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    if (!keep) {
      rmSync(dir, { recursive: true, force: true });
      if (bucket) await stateStoreFor(s3Root).removeTree(s3Root);
    }
  });

  /** The job as `tributary run --distributed` runs it, every slot process under the cap; `book` sees its slots. */
  function supervisor(backend: 'heap' | 'disk', output: string, book: SlotKills, maxRestarts: number): Supervisor {
    const g = graph(bs, input, output);
    validateGraph(g);
    return new Supervisor({
      config: {
        contractVersion: CONTRACT_VERSION,
        jobName: `disk-kill-${backend}-${run}`,
        graph: g,
        parallelism: PARALLELISM,
        maxParallelism: 128,
        checkpointing: { intervalMs: 1000, timeoutMs: 60_000, retained: 2 },
        stateDir: `${s3Root}/state-${backend}`,
        allowNonRestoredState: false,
        stateBackend:
          backend === 'disk'
            ? { kind: 'disk', dir: join(dir, 'local-state'), cacheEntries: CACHE_ENTRIES }
            : { kind: 'heap' },
      },
      logger: silentLogger(),
      maxRestarts,
      backoffMs: 200,
      env: { TRIBUTARY_LOG_LEVEL: 'warn', NODE_OPTIONS },
      ...book.hooks(),
    });
  }

  it('the heap backend under the same cap runs out of heap on the same job', async () => {
    const logDir = join(dir, 'logs-heap');
    mkdirSync(logDir, { recursive: true });
    const book = new SlotKills({ stateDir: `${s3Root}/state-heap`, logDir });
    const gauges = new SlotGauges(STEP);
    const t0 = Date.now();
    const done = book.follow(supervisor('heap', `disk-kill-heap-out-${run}`, book, 0).run());
    const watching = gauges.watch(
      () => book.attempts.at(-1)?.slots ?? [],
      () => book.finished,
      250,
    );
    const failure = await done.then(
      () => undefined,
      (e: unknown) => (e as Error).message,
    );
    await watching;
    const keys = gauges.maxKeys();
    heapBackendKeys = Math.max(...Object.values(keys));
    process.stderr.write(
      `disk kill: the heap backend failed after ${Date.now() - t0} ms (${failure}) with at most ${JSON.stringify(keys)} keys per slot (heap used MiB ${JSON.stringify(gauges.maxHeapMiB())}); ${book.summary()}\n`,
    );
    expect(failure, 'the heap backend finished the job under the cap').toBeDefined();
    expect(Object.keys(keys).length, 'keys read from every slot').toBe(PARALLELISM);
    // Out of heap: the heap watch's TRIB_STATE_MEMORY_LIMIT, or V8's own abort when it could not act in time.
    expect(memoryFailures(logDir).length, `no slot ran out of heap: ${failure}`).toBeGreaterThan(0);
    expect(heapBackendKeys).toBeLessThan(KEYS / PARALLELISM);
  }, 300_000);

  it(
    'the disk backend holds more than the heap, through kills, and writes the exact output',
    { timeout: 600_000 * SCALE },
    async () => {
      const limitMiB = slotHeapLimitMiB();
      // The old generation's cap plus the young generation's semi-spaces (SLOT_NODE_FLAGS: 8 MiB each).
      expect(limitMiB, `a slot process with NODE_OPTIONS=${NODE_OPTIONS}`).toBeLessThan(HEAP_MIB + 64);
      const logDir = join(dir, 'logs');
      mkdirSync(logDir, { recursive: true });
      const output = `disk-kill-out-${run}`;
      const book = new SlotKills({ stateDir: `${s3Root}/state-disk`, logDir });
      const gauges = new SlotGauges(STEP);
      const t0 = Date.now();
      const done = book.follow(supervisor('disk', output, book, 10).run());
      const watching = gauges.watch(
        () => book.attempts.at(-1)?.slots ?? [],
        () => book.finished,
      );
      await book.started(60_000);
      // The cap reaches the slot processes themselves (their environment, as the supervisor spawned them).
      for (const s of book.attempts[0]?.slots ?? []) expect(nodeOptionsOf(s.pid), `slot ${s.slot}`).toBe(NODE_OPTIONS);
      await killSlots(book, gauges);
      const result = await done.catch((e: unknown) => {
        keep = true;
        process.stderr.write(
          `disk kill FAILED (state and logs kept in ${s3Root} / ${logDir}): ${(e as Error).message}; ${book.summary()}\n`,
        );
        throw e;
      });
      await watching;
      const keys = gauges.maxKeys();
      process.stderr.write(
        `disk kill: ${RECORDS} records, ${KEYS} keys, ${Date.now() - t0} ms; slot heap limit ${limitMiB} MiB; keys per slot ${JSON.stringify(keys)}; heap used per slot (MiB) ${JSON.stringify(gauges.maxHeapMiB())}; attempts ${result.attempts}, restarts ${result.restarts}; ${book.summary()}\n`,
      );
      expect(result.state).toBe('FINISHED');
      expect(book.kills.length, 'no slot was killed').toBeGreaterThanOrEqual(1);
      expect(result.restarts).toBeGreaterThanOrEqual(1);
      // Every failed attempt was a kill: none ran out of heap (the heap watch, V8's abort).
      expect(result.restarts, book.summary()).toBe(book.kills.length);
      expect(memoryFailures(logDir)).toEqual([]);
      // The state went beyond what the heap holds: each slot held more keys than a heap backend slot when it failed.
      expect(Object.keys(keys).length).toBe(PARALLELISM);
      for (const [slot, n] of Object.entries(keys))
        expect(n, `keys held by slot ${slot}`).toBeGreaterThan(heapBackendKeys);
      expect(Object.values(keys).reduce((a, b) => a + b, 0)).toBeGreaterThan(2 * HEAP_BACKEND_KEYS);
      await compareOutput(output, book);
    },
  );

  /**
   * The first kill soon after the first completed checkpoint. Kill k of n comes once the slots have held k/n of the
   * keys (so the restore loads that much state into fresh stores under the cap), at a random moment 0–2 s later:
   * a restore, linking or running are all fair game.
   */
  async function killSlots(book: SlotKills, gauges: SlotGauges): Promise<void> {
    const first = await book.nextCheckpoint(undefined, 180_000);
    expect(first, 'the job finished before its first checkpoint: nothing for a kill to test').toBeDefined();
    await book.killRunningSlot(Math.floor(Math.random() * 300), 60_000);
    for (let k = 1; k < MAX_KILLS && !book.finished; k++) {
      while (!book.finished && gauges.totalKeys() < (KEYS * k) / MAX_KILLS) await sleep(100);
      await book.killRunningSlot(Math.floor(Math.random() * 2000), 120_000);
    }
  }

  async function compareOutput(output: string, book: SlotKills): Promise<void> {
    const got = await readOutput(kafka, output, { expected: expected.length });
    const diff = reportSoakRound(
      { suite: 'disk-state-kill', mode: 's3', guarantee: 'exactly-once', round: 1, kills: book.kills.length },
      expected,
      got,
    );
    if (diff.missing.length + diff.duplicated.length + diff.unexpected.length > 0) {
      keep = true;
      const why = await explain(kafka, output, diff);
      process.stderr.write(`disk kill FAILED (state and logs kept in ${s3Root} / ${dir}):\n${why}\n`);
      expect.fail(
        `read_committed output differs from the expected (${got.length} vs ${expected.length} records; ${book.summary()}):\n${why}`,
      );
    }
    expect(got.length).toBe(expected.length);
  }
});

/** Lines of the slot logs that say a slot ran out of heap. */
function memoryFailures(logDir: string): string[] {
  const lines: string[] = [];
  for (const f of readdirSync(logDir))
    for (const line of readFileSync(join(logDir, f), 'utf8').split('\n'))
      if (/TRIB_STATE_MEMORY_LIMIT|heap out of memory|FATAL ERROR/.test(line))
        lines.push(`${f}: ${line.slice(0, 300)}`);
  return lines;
}
