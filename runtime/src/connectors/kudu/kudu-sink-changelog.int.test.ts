// The kudu sink's deletes and table creation against the real local Kudu (TRIBUTARY_KUDU_MASTERS):
// a changelog (upserts, deletes by `deleteWhen`, re-inserts after a delete, deletes of keys never
// written) into a table the sink creates from its `createTable` spec; the same job run again (a
// full replay) leaves the same table; an existing table that does not match the spec is refused
// naming the column.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec, KuduSinkSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { validateGraph } from '../validate-graph.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { ScannedRow } from './client/tablet-scanner.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';

const N = 2000;
/** A changelog: every id upserted, every 4th deleted (clicks 0), every 8th written again, ids ≥ N only deleted. */
function changelog(): { id: number; user: string; clicks: number }[] {
  const out: { id: number; user: string; clicks: number }[] = [];
  for (let id = 0; id < N; id++) out.push({ id, user: `u${id % 13}`, clicks: id + 1 });
  for (let id = 0; id < N; id += 4) out.push({ id, user: '', clicks: 0 });
  for (let id = 0; id < N; id += 8) out.push({ id, user: `again${id}`, clicks: 7 });
  for (let id = N; id < N + 50; id++) out.push({ id, user: '', clicks: 0 });
  return out;
}

function expected(): ScannedRow[] {
  const rows: ScannedRow[] = [];
  for (let id = 0; id < N; id++) {
    if (id % 8 === 0) rows.push({ id: BigInt(id), user: `again${id}`, clicks: 7 });
    else if (id % 4 !== 0) rows.push({ id: BigInt(id), user: `u${id % 13}`, clicks: id + 1 });
  }
  return rows;
}

function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof TributaryError) out.push(e.code);
  return out;
}

describe('kudu sink: deletes and createTable (real Kudu)', () => {
  const client = new KuduClient({ masters: [testKuduMasters()] });
  const run = randomUUID().slice(0, 8);
  const name = `it_changelog_${run}`;

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
  });

  const kudu = (over: Partial<KuduSinkSpec> = {}): KuduSinkSpec => ({
    masters: testKuduMasters(),
    table: name,
    batchSize: 300,
    deleteWhen: 'clicks == 0.0',
    createTable: {
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'user', type: 'string' },
        { name: 'clicks', type: 'int32' },
      ],
      hashBuckets: 3,
      replicas: 1,
    },
    ...over,
  });

  const runJob = (spec: KuduSinkSpec) => {
    const g: GraphSpec = {
      sources: [{ name: 'in', collection: { records: changelog() } }],
      sinks: [{ name: 'out', from: 'in', kudu: spec }],
    };
    return new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger(), jobName: `cl-${run}` }).run();
  };

  async function rows(): Promise<ScannedRow[]> {
    const table = await client.openTable(name);
    const out: ScannedRow[] = [];
    for await (const batch of client.scan(table)) out.push(...batch);
    return out.sort((a, b) => Number(a['id']) - Number(b['id']));
  }

  it('creates the missing table, applies upserts and deletes in order; a replay leaves the same table', async () => {
    // One batch holds the whole changelog: Kudu applies the operations of one key within a write in order.
    expect((await runJob(kudu({ batchSize: 10_000 }))).state).toBe('FINISHED');
    const table = await client.openTable(name);
    expect(table.schema.columns.map((c) => [c.name, c.type, c.key])).toEqual([
      ['id', 'int64', true],
      ['user', 'string', false],
      ['clicks', 'int32', false],
    ]);
    expect(table.partitioning.hash).toEqual([{ columns: [0], buckets: 3, seed: 0 }]);
    expect(await rows()).toEqual(expected());
    // Again from the start in small batches, as after a restore: deletes of absent rows are no errors.
    expect((await runJob(kudu())).state).toBe('FINISHED');
    expect(await rows()).toEqual(expected());
  }, 180_000);

  it('refuses an existing table that does not match createTable, naming the column', async () => {
    const spec = kudu();
    const wrong = kudu({
      createTable: {
        ...spec.createTable!,
        columns: spec.createTable!.columns.map((c) => (c.name === 'clicks' ? { ...c, type: 'int64' } : c)),
      },
    });
    const err = await runJob(wrong).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toContain(`kudu table "${name}" exists but does not match`);
    expect(String(err)).toContain(
      `createTable.columns[2] ("clicks"): the table's column is int32, the spec says int64`,
    );
    expect(errorCodes(err)).toContain('TRIB_KUDU_SCHEMA');
  }, 60_000);
});
