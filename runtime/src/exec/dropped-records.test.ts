// A record a step drops on a failed expression is never silent: the first per step and error is
// logged with its origin, later ones counted and summed up per interval, and every count is in
// the job's status and result.
import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { mergeDropped } from '../core/dropped-record-count.ts';
import type { RecordOrigin } from '../core/origin.ts';
import { TributaryError } from '../errors.ts';
import { DroppedRecords, droppedSummary } from './dropped-records.ts';

function logged(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, dest), lines };
}

const origin = (offset: bigint): RecordOrigin => ({
  from: { source: 'clicks', topic: 'clicks-avro', headerList: () => [] },
  partition: 2,
  offset,
  key: null,
  value: null,
});

const flush = () => new Promise((r) => setImmediate(r));

describe('dropped records', () => {
  it('logs the first per step and error with the origin, counts later ones, sums them up per interval', async () => {
    const { log, lines } = logged();
    let now = 0;
    const d = new DroppedRecords(log, { summaryMs: 1000, now: () => now });
    const noOverload = new TributaryError('TRIB_EXPR_EVAL', 'no such overload: dyn<double> % int');
    for (let i = 0n; i < 5n; i++) d.dropped('even', noOverload, origin(100n + i));
    d.dropped('even', new TributaryError('TRIB_EXPR_EVAL', 'Unknown variable: q'), origin(7n));
    d.dropped('other', noOverload);
    await flush();
    expect(lines.map((l) => [l['step'], l['err'], l['origin']])).toEqual([
      [
        'even',
        'no such overload: dyn<double> % int',
        { source: 'clicks', topic: 'clicks-avro', partition: 2, offset: '100' },
      ],
      ['even', 'Unknown variable: q', { source: 'clicks', topic: 'clicks-avro', partition: 2, offset: '7' }],
      ['other', 'no such overload: dyn<double> % int', 'unknown (the record crossed an exchange)'],
    ]);
    expect(lines.every((l) => l['level'] === 40)).toBe(true);
    now = 1500; // the interval passed: the next drop logs the summary of the ones not logged
    d.dropped('even', noOverload, origin(200n));
    await flush();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ droppedSinceLastLine: { even: 5 }, droppedTotal: { even: 7, other: 1 } });
    expect(d.counts()).toEqual([
      { step: 'even', code: 'TRIB_EXPR_EVAL', error: 'no such overload: dyn<double> % int', count: 6 },
      { step: 'even', code: 'TRIB_EXPR_EVAL', error: 'Unknown variable: q', count: 1 },
      { step: 'other', code: 'TRIB_EXPR_EVAL', error: 'no such overload: dyn<double> % int', count: 1 },
    ]);
    expect(droppedSummary(d.counts())).toBe(
      'records dropped on failed expressions: even: 7 (6 × TRIB_EXPR_EVAL no such overload: dyn<double> % int; ' +
        '1 × TRIB_EXPR_EVAL Unknown variable: q), other: 1 (1 × TRIB_EXPR_EVAL no such overload: dyn<double> % int)',
    );
    d.summarize(); // nothing pending: no line
    await flush();
    expect(lines).toHaveLength(4);
  });

  it('tells apart a bounded number of errors per step; slots merge by step and error', () => {
    const { log } = logged();
    const d = new DroppedRecords(log);
    for (let i = 0; i < 30; i++) d.dropped('parse', new Error(`bad value ${i}`), undefined, 'TRIB_FUNCTION_FAILED');
    const counts = d.counts();
    expect(counts).toHaveLength(21);
    expect(counts.at(-1)).toMatchObject({ code: 'TRIB_OTHER_ERRORS', count: 10 });
    expect(counts[0]).toMatchObject({ code: 'TRIB_FUNCTION_FAILED', count: 1 });
    const a = { step: 's', code: 'C', error: 'e', count: 2 };
    expect(mergeDropped([[a], [{ ...a, count: 3 }], undefined])).toEqual([{ ...a, count: 5 }]);
  });
});
