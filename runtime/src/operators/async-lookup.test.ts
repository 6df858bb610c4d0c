// The async lookup operator's ordering and blocking, with a table whose fetches the test answers
// (the real Kudu answers too fast to hold a fetch open between two pushes; the integration test,
// kudu-point-lookup.int.test.ts, runs the operator against it in a job).
import { describe, expect, it } from 'vitest';
import type { Rec } from '../core/record.ts';
import { LookupCache } from '../connectors/lookup-cache.ts';
import { compileExpr } from '../expr/cel.ts';
import { batchOf, CollectingOutput, testContext } from '../testing/harness.ts';
import { AsyncLookupOperator } from './async-lookup.ts';
import type { KeyedLookup } from '../connectors/keyed-lookup.ts';
import { RecordErrors } from './record-errors.ts';

class HeldTable implements KeyedLookup {
  readonly cache = new LookupCache<Rec>({ maxEntries: 100, ttlMs: 60_000 });
  readonly asked: string[][] = [];
  private answers: ((rows: Map<string, Rec | null>) => void)[] = [];
  private failures: ((e: Error) => void)[] = [];
  private readonly rows: Record<string, Rec>;
  constructor(rows: Record<string, Rec>) {
    this.rows = rows;
  }
  open(): Promise<void> {
    return Promise.resolve();
  }
  cached(key: string): Rec | null | undefined {
    return this.cache.get(key);
  }
  fetch(keys: readonly string[]): Promise<ReadonlyMap<string, Rec | null>> {
    this.asked.push([...keys]);
    return new Promise((resolve, reject) => {
      this.answers.push(resolve);
      this.failures.push(reject);
    });
  }
  /** Answers the oldest fetch from `rows` (and caches the answer, as the kudu lookup does). */
  answer(): void {
    const keys = this.asked[this.answers.length === 0 ? 0 : this.asked.length - this.answers.length] as string[];
    const found = new Map(keys.map((k) => [k, this.rows[k] ?? null] as const));
    for (const [k, v] of found) this.cache.set(k, v);
    this.failures.shift();
    (this.answers.shift() as (rows: Map<string, Rec | null>) => void)(found);
  }
  fail(e: Error): void {
    this.answers.shift();
    (this.failures.shift() as (e: Error) => void)(e);
  }
  close(): void {}
}

class Mailbox {
  readonly queued: (() => void)[] = [];
  post(cb: () => void): void {
    this.queued.push(cb);
  }
  /** Waits for the fetch's answer to reach the mailbox, then runs what it posted. */
  async run(): Promise<void> {
    while (this.queued.length === 0) await Promise.resolve();
    while (this.queued.length > 0) (this.queued.shift() as () => void)();
  }
}

function setup(onMissing: 'keep' | 'drop' = 'keep', errorOut?: CollectingOutput) {
  const table = new HeldTable({ '1': { id: '1', name: 'one' }, '2': { id: '2', name: 'two' } });
  const out = new CollectingOutput();
  const mailbox = new Mailbox();
  const op = new AsyncLookupOperator(
    'enrich',
    table,
    { key: [compileExpr('string(k)')], columns: ['id'], onMissing },
    out,
    new RecordErrors(testContext(), errorOut),
    mailbox,
  );
  return { table, out, mailbox, op };
}

describe('AsyncLookupOperator', () => {
  it('fetches the distinct missing keys of a batch once, then enriches it; a cached batch passes at once', async () => {
    const { table, out, mailbox, op } = setup();
    op.push(
      batchOf([
        [{ k: 1 }, 10],
        [{ k: 3 }, 11],
        [{ k: 1 }, 12],
      ]),
    );
    expect(table.asked).toEqual([['1', '3']]);
    expect(out.records).toEqual([]);
    expect([op.writable, op.busy, op.done]).toEqual([false, true, false]);
    table.answer();
    await mailbox.run();
    expect(out.records).toEqual([
      { rec: { k: 1, name: 'one' }, ts: 10 },
      { rec: { k: 3 }, ts: 11 },
      { rec: { k: 1, name: 'one' }, ts: 12 },
    ]);
    expect(op.writable).toBe(true);
    // Both keys (the miss too: negative caching) are cached now: no fetch, enriched at once.
    op.push(
      batchOf([
        [{ k: 3 }, 13],
        [{ k: 1 }, 14],
      ]),
    );
    expect(table.asked.length).toBe(1);
    expect(out.take().slice(3)).toEqual([{ k: 3 }, { k: 1, name: 'one' }]);
  });

  it('keeps records, watermarks, idleness and the end in order behind a fetch', async () => {
    const { table, out, mailbox, op } = setup('drop');
    op.push(batchOf([[{ k: 1 }, 10]]));
    op.watermark(10);
    op.idle(true);
    op.push(
      batchOf([
        [{ k: 2 }, 20],
        [{ k: 9 }, 21],
      ]),
    ); // all of it waits, although the first batch holds no key of it
    op.watermark(20);
    op.end();
    expect([out.records.length, out.watermarks, out.idles, out.ended, op.done]).toEqual([0, [], [], false, false]);
    table.answer();
    await mailbox.run();
    // The first batch and what followed it up to the second batch; the second one is fetching.
    expect([out.take(), out.watermarks, out.idles, out.ended]).toEqual([[{ k: 1, name: 'one' }], [10], [true], false]);
    expect(table.asked).toEqual([['1'], ['2', '9']]);
    table.answer();
    await mailbox.run();
    expect([out.take(), out.watermarks, out.ended, op.done]).toEqual([[{ k: 2, name: 'two' }], [10, 20], true, true]);
  });

  it('runs what waits for it to drain right after its queue empties, or at once when idle', async () => {
    const { table, out, mailbox, op } = setup();
    const seen: string[] = [];
    op.whenDrained(() => seen.push('idle'));
    op.push(batchOf([[{ k: 2 }, 1]]));
    op.whenDrained(() => seen.push(`drained after ${out.records.length} records`));
    expect(seen).toEqual(['idle']);
    table.answer();
    await mailbox.run();
    expect(seen).toEqual(['idle', 'drained after 1 records']);
  });

  it('a failed fetch is thrown from the mailbox (failing the slot); after close it is dropped', async () => {
    const { table, mailbox, op } = setup();
    op.push(batchOf([[{ k: 1 }, 1]]));
    table.fail(new Error('kudu down'));
    await expect(mailbox.run()).rejects.toThrow('kudu down');
    const b = setup();
    b.op.push(batchOf([[{ k: 1 }, 1]]));
    b.op.close();
    b.table.fail(new Error('kudu down'));
    await b.mailbox.run();
    expect(b.op.done).toBe(true);
  });

  it('sends a record its key fails on to the errorOutput at once, even behind a fetch; without one, keeps it unmatched', async () => {
    const dead = new CollectingOutput();
    const { table, out, mailbox, op } = setup('keep', dead);
    op.push(
      batchOf([
        [{ k: 1 }, 10],
        [{ other: 1 }, 11],
      ]),
    );
    expect(dead.records).toEqual([
      {
        rec: { step: 'test', error: expect.stringMatching(/k/), code: 'TRIB_EXPR_EVAL', record: { other: 1 } },
        ts: 11,
      },
    ]);
    op.watermark(11);
    expect(dead.watermarks).toEqual([11]); // the error stream does not wait for the fetch
    expect(out.watermarks).toEqual([]);
    table.answer();
    await mailbox.run();
    expect(out.records).toEqual([{ rec: { k: 1, name: 'one' }, ts: 10 }]);
    op.end();
    expect([dead.ended, out.ended]).toEqual([true, true]);

    const plain = setup('keep');
    plain.op.push(batchOf([[{ other: 1 }, 11]]));
    expect(plain.out.records).toEqual([{ rec: { other: 1 }, ts: 11 }]);
  });
});
