// Kill test of the distributed runtime with the real Kafka broker: a keyed windowed job reads
// 100k records from a 4-partition topic and writes another topic exactly-once, run by the local
// supervisor (`tributary run --distributed`: one process per slot, TCP data plane, checkpoints
// every 300 ms). Each round SIGKILLs a running slot process soon after the round's first completed
// checkpoint, and again at a random moment of the next attempt when the job is still running;
// the supervisor restarts all slots from the latest completed checkpoint. The output read with
// read_committed must equal an uninterrupted reference run exactly (same multiset). A map step
// fails on every record with amount 7 (an index out of range) and sends it to its errorOutput,
// a second exactly-once topic: the dead letters must equal the reference's exactly too. State
// lives on the local cluster's S3 server (s3://<bucket>/tests/chaos-<run>/state-<round>, the
// slots sharing nothing but the bucket, as slot pods on Kubernetes do) in two rounds of three,
// and in a local folder in every third round (`tributary run`'s default).
//
// Rounds: TRIBUTARY_CHAOS_ROUNDS (default 3: at least 3 kills, one per round, asserted; up to 6; rounds 1 and 2 on
// S3, round 3 on local disk). `npm run soak` runs 50-round passes until 1,000 kills; CI keeps the short form.
// The soak may ask for more kills per round (TRIBUTARY_CHAOS_KILLS) over a longer input (TRIBUTARY_CHAOS_RECORDS,
// a multiple of 4).
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { Supervisor, type AttemptInfo } from './supervisor.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../testing/kafka-topics.ts';
import { reportSoakRound } from '../../../test/harness/soak-report.ts';

const { Kafka, logLevel } = kafkajs;
const ROUNDS = Number(process.env['TRIBUTARY_CHAOS_ROUNDS'] ?? 3);
// The soak's denser rounds: more kills per round need a longer input to land in (a kill that
// finds the job done is not made).
const KILLS_PER_ROUND = Number(process.env['TRIBUTARY_CHAOS_KILLS'] ?? 2);
const RECORDS = Number(process.env['TRIBUTARY_CHAOS_RECORDS'] ?? 100_000);
const PARTITIONS = 4;
const BASE = 1_700_000_000_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const DIAG = Boolean(process.env['EOS_DIAG']);

/** Multiset difference a − b (both sorted). */
function minus(a: readonly string[], b: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const x of b) count.set(x, (count.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const c = count.get(x) ?? 0;
    if (c > 0) count.set(x, c - 1);
    else out.push(x);
  }
  return out;
}

/**
 * A readable account of what differs: missing/duplicate window results grouped by window, and where the missing ones
 * sit in the topic when written but not committed.
 */
function explain(
  expected: readonly string[],
  got: readonly string[],
  late: readonly string[],
  uncommitted: readonly string[],
  origin: Map<string, string>,
): string {
  const missing = minus(expected, got);
  const extra = minus(got, expected);
  const byWindow = (list: readonly string[]): string => {
    const m = new Map<string, number>();
    for (const x of list) {
      let w = '?';
      try {
        const r = JSON.parse(x) as Record<string, unknown>;
        w = String(r['window_start'] ?? r['windowStart'] ?? r['start'] ?? '?');
      } catch {
        // not JSON
      }
      m.set(w, (m.get(w) ?? 0) + 1);
    }
    return [...m]
      .sort()
      .map(([w, n]) => `${w}:${n}`)
      .join(' ');
  };
  const stillMissingLate = minus(missing, minus(late, got)).length;
  const missingButWritten = missing.filter((x) => origin.has(x));
  const where = new Map<string, number>();
  for (const x of missingButWritten) {
    const o = (origin.get(x) ?? '').split('@')[0] ?? '';
    where.set(o, (where.get(o) ?? 0) + 1);
  }
  return [
    `missing ${missing.length}, unexpected/duplicate ${extra.length}`,
    `missing still missing in a re-read 10 s later (read_committed): ${stillMissingLate}`,
    `missing records present in the topic read_uncommitted (written, then aborted or never committed): ${missingButWritten.length} by partition ${JSON.stringify(Object.fromEntries(where))}`,
    `offsets of some: ${missingButWritten
      .slice(0, 5)
      .map((x) => origin.get(x))
      .join(', ')}`,
    `missing by window: ${byWindow(missing)}`,
    `duplicates by window: ${byWindow(extra)}`,
    `first missing: ${missing.slice(0, 5).join(' | ')}`,
  ].join('\n');
}

/**
 * Every committed record of `topic` (read_committed), waiting until `expected` arrived and then a little longer
 * (duplicates would show).
 */
/**
 * Every record of `topic` as sorted values (read_committed unless asked), noting where each value sits when `origin` is
 * given.
 */
async function readCommitted(
  kafka: KafkaClient,
  topic: string,
  expected: number,
  timeoutMs = 60_000,
  readUncommitted = false,
  origin?: Map<string, string>,
): Promise<string[]> {
  const recs = await readTopic(kafka, topic, { expected, timeoutMs, settleMs: 2000, readUncommitted });
  for (const r of recs) origin?.set(r.value, `p${r.partition}@${r.offset}`);
  return recs.map((r) => r.value).sort();
}

describe('distributed kill test: SIGKILL a random slot process, exactly-once output', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const input = `chaos-dist-in-${run}`;
  const bs = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-chaos-'));
  // The slot processes inherit the TRIBUTARY_S3_* variables the cluster's env gives this process.
  const bucket = process.env['TRIBUTARY_S3_BUCKET'];
  const s3Root = `s3://${bucket}/tests/chaos-${run}`;
  const stateDirOf = (round: number) => (round % 3 === 0 ? join(dir, `state-${round}`) : `${s3Root}/state-${round}`);
  let expected: string[] = [];
  let keep = false;
  let totalKills = 0;

  let expectedDead: string[] = [];
  const graph = (output: string, exactlyOnce: boolean): GraphSpec => ({
    sources: [
      {
        name: 'events',
        kafka: { brokers: bs, topic: input, groupId: `chaos-${randomUUID()}`, bounded: 'latest' },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '500ms' },
      },
    ],
    steps: [
      {
        name: 'checked',
        from: 'events',
        map: { user: 'user', amount: 'amount', ts: 'ts', check: '[1][int(amount) / 7]' },
        errorOutput: 'rejected',
      },
      { name: 'by-user', from: 'checked', keyBy: 'user' },
      { name: 'per-2s', from: 'by-user', window: { tumbling: { size: '2s' } } },
      { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: {
          brokers: bs,
          topic: output,
          key: 'user',
          ...(exactlyOnce ? { delivery: 'exactly-once' as const } : {}),
        },
      },
      {
        name: 'dead-letters',
        from: 'rejected',
        kafka: { brokers: bs, topic: `${output}-dead`, ...(exactlyOnce ? { delivery: 'exactly-once' as const } : {}) },
      },
    ],
  });

  beforeAll(async () => {
    expect(bucket, 'TRIBUTARY_S3_BUCKET: start the local cluster with --with s3 and eval its env').toBeTruthy();
    kafka = new Kafka({ clientId: 'chaos', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: PARTITIONS });
    const producer = inputProducer(kafka);
    await producer.connect();
    const per = RECORDS / PARTITIONS;
    for (let p = 0; p < PARTITIONS; p++) {
      for (let start = 0; start < per; start += 5000) {
        const messages = Array.from({ length: Math.min(5000, per - start) }, (_, j) => {
          const i = start + j;
          const user = `user-${(i * 13 + p) % 200}`;
          return {
            key: user,
            partition: p,
            value: JSON.stringify({ user, amount: (i % 7) + 1, ts: BASE + i * 20 + p }),
          };
        });
        await producer.send({ topic: input, messages });
      }
    }
    await producer.disconnect();
    // The reference: one uninterrupted in-process run.
    const refTopic = `chaos-dist-ref-${run}`;
    const ref = await new JobExecutor(validateGraph(graph(refTopic, false)), {
      parallelism: 2,
      logger: silentLogger(),
    }).run();
    expect(ref.recordsIn).toBe(RECORDS);
    // Every 7th amount is 7 (amount = i % 7 + 1): those records are dead letters, the rest is counted.
    const deadCount = Math.floor(RECORDS / PARTITIONS / 7) * PARTITIONS;
    expectedDead = await readCommitted(kafka, `${refTopic}-dead`, deadCount);
    expect(expectedDead.length).toBe(deadCount);
    expect(JSON.parse(expectedDead[0] as string)).toMatchObject({ step: 'checked', record: { amount: 7 } });
    expected = await readCommitted(kafka, refTopic, ref.recordsOut - expectedDead.length);
    expect(expected.length).toBe(ref.recordsOut - expectedDead.length);
  }, 300_000);

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    if (!keep) {
      rmSync(dir, { recursive: true, force: true });
      if (bucket) await stateStoreFor(s3Root).removeTree(s3Root);
    }
  });

  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}/${ROUNDS}`, async () => {
      const parallelism = Number(process.env['TRIBUTARY_CHAOS_PARALLELISM'] ?? 2 + (round % 2));
      const logDir = join(dir, `logs-${round}`);
      const stateDir = stateDirOf(round);
      mkdirSync(logDir, { recursive: true });
      const output = `chaos-dist-out-${round}-${run}`;
      const g = graph(output, true);
      validateGraph(g);
      const attempts: AttemptInfo[] = [];
      const kills: { attempt: number; slot: number; afterMs: number }[] = [];
      const exits: string[] = [];
      const sup = new Supervisor({
        config: {
          contractVersion: CONTRACT_VERSION,
          jobName: `chaos-${round}-${run}`,
          graph: g,
          parallelism,
          maxParallelism: 128,
          checkpointing: { intervalMs: 300, timeoutMs: 30_000, retained: 2 },
          stateDir,
          allowNonRestoredState: false,
        },
        logger: silentLogger(),
        maxRestarts: 10,
        backoffMs: 200,
        stdio: 'pipe',
        env: { TRIBUTARY_LOG_LEVEL: DIAG ? 'debug' : 'warn' },
        onSlotExit: (slot, code, signal) => exits.push(`a${attempts.length}/s${slot}:${signal ?? code}`),
        onAttempt: (a) => {
          attempts.push(a);
          for (const s of a.slots) {
            if (DIAG) {
              const f = createWriteStream(join(logDir, `a${a.attempt}-s${s.slot}.log`));
              s.child.stdout?.pipe(f);
              s.child.stderr?.pipe(f);
            } else {
              s.child.stdout?.resume();
              s.child.stderr?.resume();
            }
          }
        },
      });
      const done = sup.run();
      let finished = false;
      void done.finally(() => (finished = true)).catch(() => {});
      // Two kills (TRIBUTARY_CHAOS_KILLS). The first hits a running slot soon after the round's first completed
      // checkpoint (so the restart restores state, not the beginning); each next one comes at a random moment of
      // the next attempt (start-up and linking are fair game too) and may find the job done.
      await expect.poll(() => attempts.length, { timeout: 30_000 }).toBeGreaterThan(0);
      await expect
        .poll(async () => finished || (await latestCheckpointPath(stateDir)) !== undefined, {
          timeout: 60_000,
          interval: 20,
        })
        .toBe(true);
      expect(finished, 'the job finished before its first checkpoint: nothing for a kill to test').toBe(false);
      for (let k = 0; k < KILLS_PER_ROUND && !finished; k++) {
        const attemptNo = attempts.length;
        // An attempt runs ~2–5 s on this input (start-up included): later kills would mostly find the job done.
        const afterMs = k === 0 ? Math.floor(Math.random() * 300) : 150 + Math.floor(Math.random() * 2000);
        await sleep(afterMs);
        const a = attempts[attempts.length - 1];
        if (finished || !a || a.attempt !== attemptNo) break;
        const running = a.slots.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
        const victim = running[Math.floor(Math.random() * running.length)];
        if (!victim) break;
        victim.child.kill('SIGKILL');
        kills.push({ attempt: a.attempt, slot: victim.slot, afterMs });
        totalKills++;
        await expect.poll(() => attempts.length > attemptNo || finished, { timeout: 30_000 }).toBe(true);
      }
      // Every round killed a running slot after a checkpoint (a round whose job ended first tests nothing).
      expect(kills.length, 'no slot was killed in this round').toBeGreaterThanOrEqual(1);
      const result = await done.catch((e: unknown) => {
        keep = true; // a failed run keeps its state and logs (EOS_DIAG=1 writes per-slot logs)
        process.stderr.write(
          `chaos round ${round} FAILED (state and logs kept in ${stateDir} / ${logDir}): ${(e as Error).message}; kills ${JSON.stringify(kills)}, exits ${exits.join(' ')}\n`,
        );
        throw e;
      });
      process.stderr.write(
        `chaos round ${round}: parallelism ${parallelism}, state ${stateDir.startsWith('s3://') ? 'on S3' : 'on local disk'}, kills ${JSON.stringify(kills)}, attempts ${result.attempts}, restarts ${result.restarts}, exits ${exits.join(' ')}\n`,
      );
      expect(result.state).toBe('FINISHED');
      const got = await readCommitted(kafka, output, expected.length);
      reportSoakRound(
        {
          suite: 'distributed-kill',
          mode: stateDir.startsWith('s3://') ? 's3' : 'local-disk',
          guarantee: 'exactly-once',
          round,
          kills: kills.length,
        },
        expected,
        got,
      );
      if (got.length !== expected.length || got.some((x, i) => x !== expected[i])) {
        await sleep(10_000);
        const late = await readCommitted(kafka, output, expected.length, 20_000);
        const origin = new Map<string, string>();
        const uncommitted = await readCommitted(kafka, output, Number.MAX_SAFE_INTEGER, 20_000, true, origin);
        const why = explain(expected, got, late, uncommitted, origin);
        process.stderr.write(`chaos round ${round} FAILED (state and logs kept in ${stateDir} / ${logDir}):\n${why}\n`);
        keep = true;
        expect.fail(
          `round ${round}: read_committed output differs from the reference (${got.length} vs ${expected.length} records; kills ${JSON.stringify(kills)}, exits ${exits.join(' ')}):\n${why}`,
        );
      }
      const dead = await readCommitted(kafka, `${output}-dead`, expectedDead.length);
      expect(dead.length, `round ${round}: dead letters`).toBe(expectedDead.length);
      expect(dead, `round ${round}: dead letters differ from the reference`).toEqual(expectedDead);
      if (kills.length > 0) expect(result.restarts).toBeGreaterThanOrEqual(1);
    }, 300_000);
  }
  it('ran at least one round and killed a running slot in every round', () => {
    expect(ROUNDS, 'TRIBUTARY_CHAOS_ROUNDS must be at least 1').toBeGreaterThanOrEqual(1);
    expect(totalKills).toBeGreaterThanOrEqual(ROUNDS);
  });
});
