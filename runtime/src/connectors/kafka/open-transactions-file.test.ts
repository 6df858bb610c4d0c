import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../telemetry/logger.ts';
import {
  OpenTransactionsFile,
  readOpenTransactions,
  removeOpenTransactions,
  WRITE_INTERVAL_MS,
  type OpenTxn,
} from './open-transactions-file.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-open-txn-'));
  dirs.push(d);
  return d;
}

describe('open-transactions file', () => {
  it('writes the snapshot at most once per interval, keeps the last one for a failed job, and removes it otherwise', async () => {
    const dir = await tempDir();
    let open: OpenTxn[] = [{ transactionalId: 'p-0-0', records: 3, bytes: 90 }];
    const f = new OpenTransactionsFile(dir, 0, () => open, silentLogger());
    f.changed();
    f.changed();
    expect(await readOpenTransactions(dir, 0)).toEqual(new Map());
    await new Promise((r) => setTimeout(r, WRITE_INTERVAL_MS + 200));
    expect((await readOpenTransactions(dir, 0)).get('p-0-0')?.bytes).toBe(90);
    open = [{ transactionalId: 'p-0-1', records: 5, bytes: 150 }];
    f.changed();
    await f.end(true); // a failed job: the latest snapshot now, no wait
    const last = await readOpenTransactions(dir, 0);
    expect([...last.keys()]).toEqual(['p-0-1']);
    expect(await readdir(dir)).toEqual(['open-0.json']);
    f.changed(); // after end: ignored
    const g = new OpenTransactionsFile(dir, 0, () => open, silentLogger());
    await g.end(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads a missing or torn file as nothing known; removal is idempotent', async () => {
    const dir = await tempDir();
    expect((await readOpenTransactions(dir, 3)).size).toBe(0);
    await writeFile(join(dir, 'open-3.json'), '{"slot":3,"transactions":[{"transac');
    expect((await readOpenTransactions(dir, 3)).size).toBe(0);
    await removeOpenTransactions(dir, 3);
    await removeOpenTransactions(dir, 3);
    expect(await readdir(dir)).toEqual([]);
  });
});
