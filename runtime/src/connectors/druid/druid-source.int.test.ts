// The druid source against the local cluster's real Druid (TRIBUTARY_DRUID_URL): a dataset of
// ROWS rows ingested once (Kafka topic + supervisor, runtime/src/testing/druid-dataset.ts) is read
// by a job at parallelism 3 — slot 0 emits every row in the query's order, the other slots
// nothing — and the output equals the dataset exactly (typed columns, nulls, quotes, non-ASCII);
// a query with quoted identifiers and string literals holding quotes, a backslash and non-ASCII
// selects exactly its rows; a reader stopped part-way and one restored from the slots' positions
// emit every row once, as does a job crashed at a checkpoint and restored at another
// parallelism; a bad column, a missing datasource and a wrong port fail the job with
// TRIB_CONNECTOR_FAILED, the source's name and Druid's own message.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../../checkpoint/coordinator.ts';
import { isTributaryError } from '../../errors.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { DruidDataset, testDruidUrl } from '../../testing/druid-dataset.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import type { RawRecords, SourceReaderContext } from '../api.ts';
import { validateGraph } from '../validate-graph.ts';
import { DruidSqlSource } from './druid-source.ts';

const ROWS = 400;
const NAMES = ["O'Brien", 'say "hi"', 'back\\slash', 'Zürich ✓', '', null, 'plain'] as const;

/** A type, not an interface: rows must be assignable to Record<string, unknown>. */
type Row = {
  ts: number;
  id: number;
  name: string | null;
  amount: number;
  country: string;
};

describe('druid source against the real Druid', () => {
  const run = randomUUID().slice(0, 8);
  // A hyphen: the datasource must be quoted in SQL.
  const datasource = `it-druid-src-${run}`;
  const base = Date.now() - ROWS * 1000;
  const rows: Row[] = Array.from({ length: ROWS }, (_, id) => ({
    ts: base + id * 1000,
    id,
    name: NAMES[id % NAMES.length] ?? null,
    amount: id % 4 === 1 ? -(id + 0.5) : id * 1.25,
    country: ['de', 'fr', 'it'][id % 3] as string,
  }));
  const allRows = `SELECT TIMESTAMP_TO_MILLIS(__time) AS ts, id, name, amount, country FROM "${datasource}" ORDER BY __time`;
  let dataset: DruidDataset;
  const dirs: string[] = [];

  beforeAll(async () => {
    dataset = await DruidDataset.create(
      {
        name: datasource,
        timestampColumn: 'ts',
        dimensions: [{ type: 'long', name: 'id' }, 'name', { type: 'double', name: 'amount' }, 'country'],
      },
      rows,
    );
  }, 240_000);

  afterAll(async () => {
    await dataset?.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 60_000);

  const graph = (query: string, url = testDruidUrl(), name = 'd'): GraphSpec => ({
    sources: [{ name, druid: { url, query } }],
    sinks: [{ name: 'out', from: name, console: {} }],
  });

  /** Every record the sink got, per slot. */
  const collect = async (g: GraphSpec, parallelism: number): Promise<Emitted[][]> => {
    const bySlot: Emitted[][] = Array.from({ length: parallelism }, () => []);
    const job = await createJobExecutor(validateGraph(g), {
      parallelism,
      logger: silentLogger(),
      sinkWriter: (_, slot) => new CollectingSink(bySlot[slot]),
    });
    expect((await job.run()).state).toBe('FINISHED');
    return bySlot;
  };

  it('at parallelism 3: slot 0 emits every row in the query order, the others none; output equals the dataset', async () => {
    const [slot0, slot1, slot2] = await collect(graph(allRows), 3);
    expect(slot0?.map((e) => e.rec)).toEqual(rows);
    expect([slot1?.length, slot2?.length]).toEqual([0, 0]);
  });

  it('a query with quoted identifiers and string literals holding quotes, a backslash and non-ASCII', async () => {
    const bySlot = await collect(
      graph(
        `SELECT "id", "name" AS "the ""name""" FROM "${datasource}" ` +
          `WHERE "name" IN ('O''Brien', 'back\\slash', 'Zürich ✓', 'say "hi"') ORDER BY __time`,
      ),
      2,
    );
    const want = rows
      .filter((r) => r.name !== null && ["O'Brien", 'back\\slash', 'Zürich ✓', 'say "hi"'].includes(r.name))
      .map((r) => ({ id: r.id, 'the "name"': r.name }));
    expect(want.length).toBeGreaterThan(200);
    expect(bySlot.flat().map((e) => e.rec)).toEqual(want);
  });

  it("positions: a reader stopped part-way and one restored from every slot's position emit each row once", async () => {
    const ctx = (slot: number, restoredPositions?: unknown[]): SourceReaderContext => ({
      sourceName: 'd',
      slot,
      parallelism: 2,
      logger: silentLogger(),
      addPartition: () => 0,
      finishPartition: () => undefined,
      idlePartition: () => undefined,
      partitionCaughtUp: () => undefined,
      wake: () => undefined,
      wakeAt: () => undefined,
      recordFailed: () => undefined,
      ...(restoredPositions ? { restoredPositions } : {}),
    });
    const got: unknown[] = [];
    const out: RawRecords = {
      get count() {
        return got.length;
      },
      add: (rec) => void got.push(rec),
    };
    const spec = { url: testDruidUrl(), query: allRows };
    const a0 = new DruidSqlSource('d', spec);
    const a1 = new DruidSqlSource('d', spec);
    await a0.open(ctx(0));
    await a1.open(ctx(1));
    expect(a1.poll(out, 1000)).toBe('end');
    expect(a0.poll(out, 150)).toBe('data');
    expect(a0.poll(out, 100)).toBe('data');
    const positions = [a0.snapshotPosition(), a1.snapshotPosition()];
    expect(positions).toEqual([
      { kind: 'druid-rows', emitted: 250 },
      { kind: 'druid-rows', emitted: 0 },
    ]);
    await a0.close();
    await a1.close();
    // Restored at another parallelism: every slot gets every position; slot 0 resumes.
    for (const slot of [1, 0]) {
      const b = new DruidSqlSource('d', spec);
      await b.open(ctx(slot, positions));
      for (let i = 0; i < 100 && b.poll(out, 64) !== 'end'; i++);
      await b.close();
    }
    expect(got).toEqual(rows);
  });

  it('a job crashed at a checkpoint and restored at another parallelism: per-country totals exact', async () => {
    const g: GraphSpec = {
      sources: [{ name: 'd', druid: { url: testDruidUrl(), query: allRows } }],
      steps: [
        { name: 'by-country', from: 'd', keyBy: 'country' },
        { name: 'totals', from: 'by-country', aggregate: { n: 'count()', ids: 'sum(id)' } },
      ],
      sinks: [{ name: 'out', from: 'totals', console: {} }],
    };
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-druid-src-'));
    dirs.push(stateDir);
    const got: Emitted[] = [];
    const start = (p: number, restoreFrom?: string) =>
      createJobExecutor(validateGraph(g), {
        parallelism: p,
        maxParallelism: 64,
        logger: silentLogger(),
        jobName: `druid-src-${run}`,
        sinkWriter: () => new CollectingSink(got),
        checkpointing: { stateDir, intervalMs: 20, timeoutMs: 30_000, retained: 2 },
        ...(restoreFrom ? { restoreFrom } : {}),
      });
    // Crashed at its first checkpoint: where the read then is depends on the machine (the
    // reader test above stops it part-way deterministically).
    const first = await start(2);
    const done = first.run();
    done.catch(() => undefined);
    let restoreFrom: string | undefined;
    for (let i = 0; i < 3000 && !restoreFrom; i++) {
      await new Promise((r) => setTimeout(r, 10));
      restoreFrom = await latestCheckpointPath(stateDir);
    }
    first.crash();
    await done.catch(() => undefined);
    expect(restoreFrom, 'a checkpoint was taken').toBeDefined();
    const second = await start(3, restoreFrom);
    expect((await second.run()).state).toBe('FINISHED');
    // Per key, the highest count seen over both runs is its total: a lost row keeps it under
    // the dataset's, a row emitted twice takes it over.
    const final = new Map<string, { n: number; ids: number }>();
    for (const e of got) {
      const r = e.rec as { country: string; n: number; ids: number };
      if ((final.get(r.country)?.n ?? -1) < r.n) final.set(r.country, { n: r.n, ids: r.ids });
    }
    const want = new Map<string, { n: number; ids: number }>();
    for (const r of rows) {
      const w = want.get(r.country) ?? { n: 0, ids: 0 };
      want.set(r.country, { n: w.n + 1, ids: w.ids + r.id });
    }
    expect([...final.entries()].sort()).toEqual([...want.entries()].sort());
  });

  const failure = async (g: GraphSpec): Promise<unknown> => {
    const job = await createJobExecutor(validateGraph(g), {
      parallelism: 1,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(),
    });
    return job.run().catch((e: unknown) => e);
  };

  it("a bad column fails the job with the source's name and Druid's message naming the column", async () => {
    const err = await failure(graph(`SELECT id, nope FROM "${datasource}"`, testDruidUrl(), 'countries'));
    expect(isTributaryError(err, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((err as Error).message).toBe(
      `source "countries": Druid SQL failed (HTTP 400): Column 'nope' not found in any table (line [1], column [12])`,
    );
  });

  it('a datasource that does not exist, and Druid not at the URL: TRIB_CONNECTOR_FAILED naming the source', async () => {
    const missing = await failure(graph(`SELECT * FROM "no-such-${run}"`, testDruidUrl(), 'countries'));
    expect(isTributaryError(missing, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((missing as Error).message).toMatch(
      new RegExp(`^source "countries": Druid SQL failed \\(HTTP 400\\): Object 'no-such-${run}' not found`),
    );
    const down = await failure(graph('SELECT 1', 'http://127.0.0.1:1', 'countries'));
    expect(isTributaryError(down, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((down as Error).message).toMatch(
      /^source "countries": Druid at http:\/\/127\.0\.0\.1:1 is unreachable: connect ECONNREFUSED/,
    );
  });
});
