// Scans that outlive their server-side scanner or its server, against a Kudu of the test's own
// (1 master, 3 tablet servers with a short --scanner_ttl_ms; testing/own-kudu.ts), never the
// shared cluster's: a consumer pausing longer than the scanner TTL keeps its scan thanks to
// ScannerKeepAlive (and loses it without); an ordered scan whose scanner expired, or whose
// tablet server is SIGKILLed mid-tablet, resumes after the last key on the new leader and
// returns exactly the table's rows, each once.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.ts';
import { OwnKudu } from '../../../testing/own-kudu.ts';
import type { Row } from './cell-values.ts';
import { KuduClient } from './kudu-client.ts';
import { deadline } from './retry.ts';
import type { KuduTable } from './table-metadata.ts';
import type { ScannedRow, ScanOptions } from './tablet-scanner.ts';

const ttlMs = 1500;
/** Longer than the TTL plus the server's expiry sweep (every 100 ms here). */
const pauseMs = 3 * ttlMs;
const n = 4000;

const rowFor = (i: number): Row => ({ id: BigInt(i), v: `value-${i}-${'x'.repeat(i % 40)}` });
const ids = (rows: ScannedRow[]) => rows.map((r) => Number(r.id)).sort((a, b) => a - b);

describe('Kudu scans across scanner expiry and a tablet server dying (own Kudu)', () => {
  let kudu: OwnKudu;
  let client: KuduClient;
  let table: KuduTable;

  beforeAll(async () => {
    kudu = await OwnKudu.start(3, [`--scanner_ttl_ms=${ttlMs}`, '--scanner_gc_check_interval_us=100000']);
    client = new KuduClient({ masters: [kudu.master], operationTimeoutMs: 60_000, connectTimeoutMs: 1_000 });
    // Until all three tablet servers registered, a 3-replica table cannot be created.
    for (;;) {
      try {
        table = await client.createTable({
          name: 'scan_failover',
          columns: [
            { name: 'id', type: 'int64', key: true },
            { name: 'v', type: 'string' },
          ],
          hashPartitions: [{ columns: ['id'], buckets: 2 }],
          replicas: 3,
        });
        break;
      } catch (err) {
        for (const p of kudu.tservers.values()) expect(p.exitCode).toBeNull();
        if (!(err instanceof TributaryError)) throw err;
        await sleep(250);
      }
    }
    const rows = Array.from({ length: n }, (_, i) => rowFor(i));
    for (let i = 0; i < n; i += 1000) await client.upsert(table, rows.slice(i, i + 1000));
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    await kudu?.stop();
  });

  /** Scans the whole table, pausing after the first batch while `during` runs. */
  async function scanPausing(options: ScanOptions, during: () => Promise<void>): Promise<ScannedRow[]> {
    const out: ScannedRow[] = [];
    let first = true;
    for await (const batch of client.scan(table, { batchSizeBytes: 2048, ...options })) {
      out.push(...batch);
      if (first) {
        first = false;
        await during();
      }
    }
    return out;
  }

  it('keeps a scanner alive while the consumer pauses past the TTL', async () => {
    const rows = await scanPausing({ keepAliveMs: ttlMs / 5 }, () => sleep(pauseMs));
    expect(ids(rows)).toEqual(Array.from({ length: n }, (_, i) => i));
  }, 60_000);

  it('without keep-alive an unordered scan loses its scanner', async () => {
    const err = await scanPausing({ keepAliveMs: 0 }, () => sleep(pauseMs)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TSERVER');
    expect((err as Error).message).toMatch(/scanner/i);
  }, 60_000);

  it('an ordered scan whose scanner expired resumes after its last key', async () => {
    const rows = await scanPausing({ keepAliveMs: 0, snapshot: true }, () => sleep(pauseMs));
    expect(ids(rows)).toEqual(Array.from({ length: n }, (_, i) => i));
  }, 60_000);

  it('an ordered scan resumes on the new leader when its tablet server is killed mid-tablet', async () => {
    const [firstTablet] = await client.tabletIds(table);
    const rows = await scanPausing({ snapshot: true, tablets: [firstTablet!] }, async () => {
      // The scan is at the first tablet's leader: kill that server.
      const tablets = await client['locations'].all(table.name, table.id, deadline(10_000, 'locating'));
      const leader = tablets.find((t) => t.id.toString('hex') === firstTablet)!.leader!;
      await kudu.kill(leader.port);
    });
    const all: ScannedRow[] = [];
    for await (const batch of client.scan(table, { tablets: [firstTablet!] })) all.push(...batch);
    expect(rows.length).toBeGreaterThan(100);
    expect(ids(rows)).toEqual(ids(all));
    // In key order, each once: the resumed part starts right after the last row before the kill.
    expect(rows.map((r) => Number(r.id))).toEqual(ids(all));
  }, 120_000);
});
