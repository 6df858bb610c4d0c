// The kudu source with its slots as real OS processes SIGKILLed, against the real Kudu and the real
// Kafka: a Kudu table of 6 tablets is read by the kudu source at parallelism 3, run by the local
// supervisor (`tributary run --distributed`: one process per slot, checkpoints every 300 ms, state
// on local disk), into a Kafka topic written exactly-once. Each round SIGKILLs a running slot once
// a checkpoint has completed in the running attempt (asserted), and again in the next attempt; the
// supervisor restarts all slots, at parallelism 3, from the latest completed checkpoint, whose
// positions rescan each tablet in progress at its snapshot and skip the rows already emitted. What
// read_committed sees must equal the table as the `kudu table scan` CLI prints it: the same row
// count, no id twice, and the same order-independent checksum of every row's values.
//
// Scans are made slow for real while it runs (Kudu's own fault injection: every scan batch on
// every tablet server waits `SCAN_LATENCY_MS`), so a scan spans many checkpoints and a kill always
// lands mid-scan.
//
// Not covered: a restore at another parallelism (the supervisor restarts at the job's own; the
// in-process crash test in kudu-source.int.test.ts restores at another).
//
// Rounds: TRIBUTARY_CHAOS_ROUNDS (default 1 in CI, about a minute each; each kills at least once, asserted). Rows:
// TRIBUTARY_KUDU_SOURCE_ROWS (default 90,000; a multiple of 5,000).
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION } from '../../control/contract.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { Supervisor } from '../../process/supervisor.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { SlotKills } from '../../testing/slot-kills.ts';
import { validateGraph } from '../validate-graph.ts';
import { kuduCliLines, setKuduTserverFlag } from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { KuduClient } from './client/kudu-client.ts';

const { Kafka, logLevel } = kafkajs;
const ROUNDS = Number(process.env['TRIBUTARY_CHAOS_ROUNDS'] ?? 1);
/** A 1M-row table: TRIBUTARY_KUDU_SOURCE_ROWS=1000000; the default keeps the suite CI-sized. */
const ROWS = Number(process.env['TRIBUTARY_KUDU_SOURCE_ROWS'] ?? 90_000);
/** Setup and each round take time in proportion to the table. */
const TIMEOUT_MS = 300_000 * Math.max(1, ROWS / 90_000);
const PARALLELISM = 3;
const SCAN_LATENCY_MS = '200';
const DIAG = Boolean(process.env['EOS_DIAG']);
const slowScans = 'scanner_inject_latency_on_each_batch_ms';

interface Row {
  id: number;
  g: number;
  s: string | null;
}

/** Count, distinct ids and an order-independent checksum (sum of each row's hash, mod 2^64) of rows. */
class TableDigest {
  count = 0;
  private sum = 0n;
  private readonly ids = new Set<number>();
  add(r: Row): void {
    this.count++;
    this.ids.add(r.id);
    const h = createHash('sha256')
      .update(`${r.id}|${r.g}|${r.s === null ? '\u0000' : r.s}`)
      .digest();
    this.sum = (this.sum + h.readBigUInt64BE(0)) & 0xffff_ffff_ffff_ffffn;
  }
  get distinct(): number {
    return this.ids.size;
  }
  get checksum(): string {
    return this.sum.toString(16);
  }
}

/** A row of `kudu table scan` output: `(int64 id=7, int32 g=0, string s="s7…")`, NULL for a null. */
const cliRow = /^\(int64 id=(-?\d+), int32 g=(-?\d+), string s=(?:NULL|"([^"\\]*)")\)$/;

describe('kudu source with SIGKILLed slot processes (real Kudu, real Kafka)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const table = `it_kudu_src_kill_${run}`;
  const outputOf = (round: number): string => `it-kudu-src-kill-out-${run}-${round}`;
  const kudu = new KuduClient({ masters: [testKuduMasters()] });
  const dir = mkdtempSync(join(tmpdir(), 'trib-kudu-src-kill-'));
  const expected = new TableDigest();
  let kafka: KafkaClient;
  let keep = false;
  let totalKills = 0;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-kudu-src-kill-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, Object.fromEntries(Array.from({ length: ROUNDS }, (_, i) => [outputOf(i + 1), 3])));
    const t = await kudu.createTable({
      name: table,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'g', type: 'int32' },
        { name: 's', type: 'string', nullable: true },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 6 }],
      replicas: 1,
    });
    // ~110 bytes a row: a tablet's scan takes several 1 MiB batches, each one slowed below.
    const pad = 'x'.repeat(100);
    for (let at = 0; at < ROWS; at += 5000)
      await kudu.upsert(
        t,
        Array.from({ length: 5000 }, (_, j) => {
          const id = at + j;
          return { id, g: id % 11, s: id % 9 === 0 ? null : `${pad}${id}` };
        }),
      );
    // The reference: the table as Kudu's own CLI reads it.
    const lines: string[] = [];
    await kuduCliLines(clusterPaths(), ['table', 'scan', testKuduMasters(), table], (line) => {
      const m = cliRow.exec(line);
      if (m) expected.add({ id: Number(m[1]), g: Number(m[2]), s: m[3] ?? null });
      else if (lines.length < 5) lines.push(line);
    });
    expect(expected.count, `kudu table scan rows (other lines: ${lines.join(' | ')})`).toBe(ROWS);
    expect(expected.distinct).toBe(ROWS);
    await setKuduTserverFlag(clusterPaths(), slowScans, SCAN_LATENCY_MS, { force: true });
  }, TIMEOUT_MS);

  afterAll(async () => {
    await setKuduTserverFlag(clusterPaths(), slowScans, '0', { force: true });
    if (kafka) await deleteTopicsContaining(kafka, run);
    if (!keep) {
      await kudu.deleteTable(table).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
    await kudu.close();
  });

  for (let round = 1; round <= ROUNDS; round++) {
    it(
      `round ${round}/${ROUNDS}`,
      async () => {
        const stateDir = join(dir, `state-${round}`);
        const logDir = join(dir, `logs-${round}`);
        mkdirSync(logDir, { recursive: true });
        const graph: GraphSpec = {
          sources: [{ name: 'rows', kudu: { masters: testKuduMasters(), table } }],
          sinks: [
            { name: 'out', from: 'rows', kafka: { brokers: bs, topic: outputOf(round), delivery: 'exactly-once' } },
          ],
        };
        validateGraph(graph);
        const book = new SlotKills({ stateDir, ...(DIAG ? { logDir } : {}) });
        const sup = new Supervisor({
          config: {
            contractVersion: CONTRACT_VERSION,
            jobName: `kudu-src-kill-${round}-${run}`,
            graph,
            parallelism: PARALLELISM,
            maxParallelism: 64,
            checkpointing: { intervalMs: 300, timeoutMs: 30_000, retained: 2 },
            stateDir,
            allowNonRestoredState: false,
          },
          logger: silentLogger(),
          maxRestarts: 10,
          backoffMs: 200,
          env: { TRIBUTARY_LOG_LEVEL: DIAG ? 'debug' : 'warn' },
          ...book.hooks(),
        });
        const done = book.follow(sup.run());
        // In each of the first two attempts: wait until a checkpoint completes in it (the scan under
        // way, its position saved), then kill a running slot at a random moment of the next second.
        await book.started();
        let checkpoint = await book.latestCheckpoint();
        for (let k = 0; k < 2 && !book.finished; k++) {
          const completed = await book.nextCheckpoint(checkpoint);
          if (!completed) break;
          const kill = await book.killRunningSlot(Math.floor(Math.random() * 1000));
          if (!kill) break;
          expect(kill.checkpoint, 'a checkpoint completed in the killed attempt').toBeDefined();
          expect(kill.checkpoint, 'a checkpoint completed in the killed attempt').not.toBe(checkpoint);
          checkpoint = kill.checkpoint;
          totalKills++;
        }
        expect(book.kills.length, 'no slot was killed mid-scan in this round').toBeGreaterThanOrEqual(1);
        const result = await done.catch((e: unknown) => {
          keep = true;
          process.stderr.write(
            `kudu source kill round ${round} FAILED (state, logs and table kept in ${dir}): ${(e as Error).message}; ${book.summary()}\n`,
          );
          throw e;
        });
        process.stderr.write(
          `kudu source kill round ${round}: attempts ${result.attempts}, restarts ${result.restarts}, ${book.summary()}\n`,
        );
        expect(result.state).toBe('FINISHED');
        expect(result.restarts).toBeGreaterThanOrEqual(1);
        expect(book.attempts.every((a) => a.slots.length === PARALLELISM)).toBe(true);

        const got = new TableDigest();
        const recs = await readTopic(kafka, outputOf(round), {
          expected: ROWS,
          timeoutMs: 120_000 * Math.max(1, ROWS / 90_000),
          settleMs: 2000,
        });
        for (const r of recs) got.add(JSON.parse(r.value) as Row);
        if (got.count !== ROWS || got.checksum !== expected.checksum) keep = true;
        expect(got.count, `round ${round}: records read_committed`).toBe(expected.count);
        expect(got.distinct, `round ${round}: distinct ids`).toBe(expected.distinct);
        expect(got.checksum, `round ${round}: checksum against kudu table scan`).toBe(expected.checksum);
      },
      TIMEOUT_MS,
    );
  }

  it('ran at least one round and killed a running slot in every round', () => {
    expect(ROUNDS, 'TRIBUTARY_CHAOS_ROUNDS must be at least 1').toBeGreaterThanOrEqual(1);
    expect(totalKills).toBeGreaterThanOrEqual(ROUNDS);
  });
});
