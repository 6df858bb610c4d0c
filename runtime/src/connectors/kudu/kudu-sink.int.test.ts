// The kudu sink against the real local Kudu (TRIBUTARY_KUDU_MASTERS): a checkpointed job whose
// records are upserted by key (later records of a key win), rows flushed by the time a barrier's
// preCommit resolves, and the failures a user meets (no such table, a field the table lacks).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { validateGraph } from '../validate-graph.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { KuduTable } from './client/table-metadata.ts';
import type { ScannedRow } from './client/tablet-scanner.ts';
import { KuduSink } from './kudu-sink.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';

async function scanAll(client: KuduClient, table: KuduTable): Promise<ScannedRow[]> {
  const out: ScannedRow[] = [];
  for await (const batch of client.scan(table)) out.push(...batch);
  return out.sort((a, b) => Number(a['id']) - Number(b['id']));
}

describe('kudu sink against the real Kudu', () => {
  const client = new KuduClient({ masters: [testKuduMasters()] });
  const run = randomUUID().slice(0, 8);
  const name = `it_sink_${run}`;
  let table: KuduTable;

  beforeAll(async () => {
    table = await client.createTable({
      name,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'user', type: 'string' },
        { name: 'clicks', type: 'int32' },
        { name: 'note', type: 'string', nullable: true },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 3 }],
    });
  }, 120_000);

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
  });

  it('a checkpointed job upserts every record by key; the last record of a key wins', async () => {
    const n = 3000;
    // Each id twice: the second write of a key carries its final values.
    const records = Array.from({ length: 2 * n }, (_, i) => {
      const id = i % n;
      const second = i >= n;
      return { id, user: `u${id % 17}`, clicks: second ? id * 2 : -1, note: second && id % 3 === 0 ? null : `r${i}` };
    });
    const g: GraphSpec = {
      sources: [{ name: 'in', collection: { records } }],
      sinks: [{ name: 'out', from: 'in', kudu: { masters: testKuduMasters(), table: name, batchSize: 500 } }],
    };
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-kudu-'));
    try {
      const r = await new JobExecutor(validateGraph(g), {
        // One slot: the two records of a key reach the sink in order (at parallelism > 1 a keyBy
        // on the table's key before the sink does that).
        parallelism: 1,
        logger: silentLogger(),
        jobName: `kudu-${run}`,
        checkpointing: { stateDir, intervalMs: 50 },
      }).run();
      expect(r.state).toBe('FINISHED');
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
    const expected = Array.from({ length: n }, (_, id) => ({
      id: BigInt(id),
      user: `u${id % 17}`,
      clicks: id * 2,
      note: id % 3 === 0 ? null : `r${n + id}`,
    }));
    expect(await scanAll(client, table)).toEqual(expected);
  }, 180_000);

  it('has every row written before a barrier in Kudu when preCommit resolves', async () => {
    const sink = new KuduSink('out', { masters: testKuduMasters(), table: name, batchSize: 7 });
    await sink.open({ sinkName: 'out', slot: 0, parallelism: 1, logger: silentLogger(), wake: () => undefined });
    try {
      const recs = Array.from({ length: 100 }, (_, i) => ({ id: 100_000 + i, user: 'b', clicks: i, note: null }));
      sink.write({ recs, ts: recs.map(() => 0), keys: [], kgs: [], n: recs.length });
      await sink.preCommit();
      const back = (await scanAll(client, table)).filter((r) => Number(r['id']) >= 100_000);
      expect(back).toEqual(recs.map((r) => ({ ...r, id: BigInt(r.id) })));
    } finally {
      await sink.close('finished');
    }
  }, 60_000);

  it('fails at start naming a table that does not exist', async () => {
    const missing = `it_nope_${run}`;
    const g: GraphSpec = {
      sources: [{ name: 'in', collection: { records: [{ id: 1 }] } }],
      sinks: [{ name: 'out', from: 'in', kudu: { masters: testKuduMasters(), table: missing, timeout: '5s' } }],
    };
    const err = await new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() }).run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toContain(missing);
    expect(JSON.stringify(errorCodes(err))).toContain('TRIB_KUDU_TABLE_NOT_FOUND');
  }, 60_000);

  it('fails the job naming a record field the table lacks', async () => {
    const g: GraphSpec = {
      sources: [{ name: 'in', collection: { records: [{ id: 1, user: 'a', clicks: 1, color: 'red' }] } }],
      sinks: [{ name: 'out', from: 'in', kudu: { masters: testKuduMasters(), table: name } }],
    };
    const err = await new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() }).run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toContain('no column "color"');
    expect(JSON.stringify(errorCodes(err))).toContain('TRIB_KUDU_SCHEMA');
  }, 60_000);
});

/** The codes along an error's cause chain (the job wraps a slot's error). */
function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof TributaryError) out.push(e.code);
  return out;
}
