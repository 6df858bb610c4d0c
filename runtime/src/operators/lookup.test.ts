// lookup: a record its key expression fails on goes to the step's errorOutput; without one it is
// counted under the job's onRecordError and treated as unmatched (kept or dropped by onMissing).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LookupTable } from '../connectors/lookup-table.ts';
import { compileExpr } from '../expr/cel.ts';
import { batchOf, CollectingOutput, testContext } from '../testing/harness.ts';
import { LookupOperator } from './lookup.ts';
import { RecordErrors } from './record-errors.ts';

async function setup(onMissing: 'keep' | 'drop', errorOut?: CollectingOutput) {
  const table = new LookupTable({
    name: 'countries',
    load: () => Promise.resolve([{ id: '1', name: 'one' }]),
    columns: ['id'],
    logger: pino({ level: 'silent' }),
  });
  await table.open();
  const ctx = testContext();
  const out = new CollectingOutput();
  const op = new LookupOperator(
    table,
    { key: [compileExpr('string(k)')], columns: ['id'], onMissing },
    out,
    new RecordErrors(ctx, errorOut),
  );
  return { table, ctx, out, op };
}

const input = () =>
  batchOf([
    [{ k: 1 }, 10],
    [{ other: 2 }, 20],
    [{ k: 3 }, 30],
  ]);

describe('lookup key errors', () => {
  it('go to the errorOutput with the step, the error and the record, at its event time', async () => {
    const dead = new CollectingOutput();
    const { table, out, op } = await setup('keep', dead);
    op.push(input());
    expect(out.records).toEqual([
      { rec: { k: 1, name: 'one' }, ts: 10 },
      { rec: { k: 3 }, ts: 30 },
    ]);
    expect(dead.records).toEqual([
      { rec: { step: 'test', error: expect.any(String), code: 'TRIB_EXPR_EVAL', record: { other: 2 } }, ts: 20 },
    ]);
    op.watermark(30);
    op.end();
    expect([dead.watermarks, dead.ended]).toEqual([[30], true]);
    table.close();
  });

  it('without an errorOutput: counted under the job’s policy and treated as unmatched', async () => {
    for (const onMissing of ['keep', 'drop'] as const) {
      const { table, ctx, out, op } = await setup(onMissing);
      op.push(input());
      expect(ctx.exprErrors).toHaveLength(1);
      expect(out.take()).toEqual(
        onMissing === 'keep' ? [{ k: 1, name: 'one' }, { other: 2 }, { k: 3 }] : [{ k: 1, name: 'one' }],
      );
      table.close();
    }
  });
});
