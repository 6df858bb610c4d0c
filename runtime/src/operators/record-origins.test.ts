// Dead letters name the source record their record descends from (core/origin.ts): every step
// that passes origins on keeps each one beside its record (the very reference, no copy), its
// dead letters render it exactly (operators/dead-letter-origin.ts), and where a record has no
// single source record (input without origins, the copy of an exchange the plan does not have
// carry them) there is none. Behind exchanges that carry them: record-origins-exchange.test.ts.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../core/batch.ts';
import { originOfDeadLetter, type OriginHeader, type OriginSource, type RecordOrigin } from '../core/origin.ts';
import type { Rec } from '../core/record.ts';
import { LookupTable } from '../connectors/lookup-table.ts';
import { LocalChannel } from '../exec/channel.ts';
import { ForwardExchange } from '../exec/exchange.ts';
import { compileExpr } from '../expr/cel.ts';
import {
  FunctionFilterOperator,
  FunctionFlatMapOperator,
  FunctionMapOperator,
} from '../functions/stateless-function-operators.ts';
import { batchOf, keyedBatch, testContext } from '../testing/harness.ts';
import { aggregators } from '../testing/operators.ts';
import { FilterOperator } from './filter.ts';
import { FlatMapOperator } from './flat-map.ts';
import { KeyCheckOperator } from './key-check.ts';
import { exprKeySelector } from './key-selector.ts';
import { LookupOperator } from './lookup.ts';
import { MapOperator } from './map.ts';
import { RecordErrors, type ErrorRecord } from './record-errors.ts';
import { RollingAggregateOperator } from './rolling-aggregate.ts';
import { WindowAggregateOperator } from './window-aggregate.ts';
import type { Output } from './types.ts';

/** Records with the origin each was pushed with (copied out: batches are reused). */
class OriginCollector implements Output {
  readonly got: { rec: Rec; origin: RecordOrigin | undefined }[] = [];
  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.got.push({ rec: b.recs[i] as Rec, origin: b.origins?.[i] });
  }
  watermark(): void {}
  idle(): void {}
  end(): void {}
}

const from: OriginSource = {
  source: 'clicks',
  topic: 'clicks-topic',
  headerList: (h) => h as OriginHeader[],
};

function origin(offset: number, opts: { key?: Buffer | null; value?: Buffer | null } = {}): RecordOrigin {
  return {
    from,
    partition: 3,
    offset: 9_007_199_254_740_993n + BigInt(offset), // beyond a double's exact integers
    key: opts.key === undefined ? Buffer.from(`k${offset}`) : opts.key,
    value: opts.value === undefined ? Buffer.from([0xff, offset, 0x00]) : opts.value,
    headers: [
      { key: 'trace', value: Buffer.from(`t${offset}`) },
      { key: 'trace', value: null },
      { key: 'bin', value: Buffer.from([0x80, 0x00]) },
    ],
  };
}

/** `items` with origins 0.. in order (`withOrigins`: false gives a batch without any). */
function batch(items: [Rec, number][], withOrigins = true): { b: Batch; origins: RecordOrigin[] } {
  const b = batchOf(items);
  const origins = items.map((_, i) => origin(i));
  if (withOrigins) b.origins = [...origins];
  return { b, origins };
}

/** What a dead letter's JSON says of origin(i): base64 bytes, the offset as a string. */
function rendered(i: number): unknown {
  return {
    source: 'clicks',
    topic: 'clicks-topic',
    partition: 3,
    offset: (9_007_199_254_740_993n + BigInt(i)).toString(),
    encoding: 'base64',
    key: Buffer.from(`k${i}`).toString('base64'),
    value: Buffer.from([0xff, i, 0x00]).toString('base64'),
    headers: [
      { key: 'trace', value: Buffer.from(`t${i}`).toString('base64') },
      { key: 'trace', value: null },
      { key: 'bin', value: 'gAA=' },
    ],
  };
}

type Make = (errors: RecordErrors, out: Output) => Output;

const ctx = () => testContext();
const steps: [string, Make][] = [
  ['filter', (e, out) => new FilterOperator(compileExpr('int(x) > 0'), ctx(), out, errOut(e))],
  ['map', (e, out) => new MapOperator({ x: compileExpr('int(x)') }, ctx(), out, errOut(e))],
  ['keyBy key check', (e, out) => new KeyCheckOperator(exprKeySelector(compileExpr('int(x)')), out, e)],
  [
    'function map',
    (e, out) =>
      new FunctionMapOperator(
        (r) => {
          if (typeof (r as Rec)['x'] !== 'number') throw new Error('no x');
          return r;
        },
        e,
        out,
      ),
  ],
  [
    'function filter',
    (e, out) =>
      new FunctionFilterOperator(
        (r) => {
          if (typeof (r as Rec)['x'] !== 'number') throw new Error('no x');
          return true;
        },
        e,
        out,
      ),
  ],
];

// The CEL operators build their RecordErrors from an error Output; the rest take one.
const errorOutputs = new WeakMap<RecordErrors, Output>();
function errOut(e: RecordErrors): Output {
  return errorOutputs.get(e) as Output;
}
function errorsTo(dead: Output): RecordErrors {
  const e = new RecordErrors(testContext({}), dead);
  errorOutputs.set(e, dead);
  return e;
}

const input: [Rec, number][] = [
  [{ x: 1 }, 10],
  [{ x: 'bad' }, 20],
  [{ x: 2 }, 30],
  [{ y: 0 }, 40],
];

describe.each(steps)('%s', (_name, make) => {
  it('passes each record on with its own origin, and a failed one names it in its dead letter', () => {
    const out = new OriginCollector();
    const dead = new OriginCollector();
    const op = make(errorsTo(dead), out);
    const { b, origins } = batch(input);
    op.push(b);
    expect(out.got.map((g) => g.origin)).toEqual([origins[0], origins[2]]);
    expect(out.got[0]?.origin).toBe(origins[0]); // the reference, not a copy
    expect(out.got[1]?.origin).toBe(origins[2]);
    const letters = dead.got.map((g) => g.rec as ErrorRecord);
    expect(letters.map((l) => l.record)).toEqual([{ x: 'bad' }, { y: 0 }]);
    expect(JSON.parse(JSON.stringify(letters.map((l) => l.origin)))).toEqual([rendered(1), rendered(3)]);
    expect(letters.map((l) => originOfDeadLetter(l))).toEqual([origins[1], origins[3]]);
    expect(Object.keys(letters[0] as object)).toContain('origin');
  });

  it('carries none for input without origins, also right after input with them', () => {
    const out = new OriginCollector();
    const dead = new OriginCollector();
    const op = make(errorsTo(dead), out);
    op.push(batch(input).b);
    out.got.length = 0;
    dead.got.length = 0;
    op.push(batch(input, false).b);
    expect(out.got.map((g) => g.origin)).toEqual([undefined, undefined]);
    expect(dead.got).toHaveLength(2);
    for (const g of dead.got) {
      expect('origin' in g.rec).toBe(false);
      expect(originOfDeadLetter(g.rec)).toBeUndefined();
    }
  });
});

describe('flatMap', () => {
  const cel = (e: RecordErrors, out: Output) =>
    new FlatMapOperator(compileExpr('[int(x), int(x) + 10]'), 'n', ctx(), out, errOut(e));
  const fn = (e: RecordErrors, out: Output) =>
    new FunctionFlatMapOperator(
      (r) => {
        const x = (r as Rec)['x'];
        if (typeof x !== 'number') throw new Error('no x');
        return [{ n: x }, { n: x + 10 }];
      },
      e,
      out,
    );
  it.each([
    ['cel', cel],
    ['function', fn],
  ])('%s: every element of a record carries its origin', (_n, make) => {
    const out = new OriginCollector();
    const dead = new OriginCollector();
    make(errorsTo(dead), out).push(batch(input).b);
    const { origins } = batch(input);
    // CEL's `n + 10` is an int (a BigInt), the function's a number: compared as numbers.
    expect(out.got.map((g) => [Number(g.rec['n']), g.origin?.offset])).toEqual([
      [1, origins[0]?.offset],
      [11, origins[0]?.offset],
      [2, origins[2]?.offset],
      [12, origins[2]?.offset],
    ]);
    expect(JSON.parse(JSON.stringify(dead.got.map((g) => (g.rec as ErrorRecord).origin)))).toEqual([
      rendered(1),
      rendered(3),
    ]);
  });
});

describe('lookup', () => {
  it('passes origins through enrichment; a record its key fails on names its origin', async () => {
    const table = new LookupTable({
      name: 'names',
      load: () => Promise.resolve([{ id: '1', name: 'one' }]),
      columns: ['id'],
      logger: pino({ level: 'silent' }),
    });
    await table.open();
    const out = new OriginCollector();
    const dead = new OriginCollector();
    const op = new LookupOperator(
      table,
      { key: [compileExpr('string(int(x))')], columns: ['id'], onMissing: 'keep' },
      out,
      errorsTo(dead),
    );
    const { b, origins } = batch(input);
    op.push(b);
    expect(out.got.map((g) => [g.rec, g.origin])).toEqual([
      [{ x: 1, name: 'one' }, origins[0]],
      [{ x: 2 }, origins[2]],
    ]);
    expect(JSON.parse(JSON.stringify(dead.got.map((g) => (g.rec as ErrorRecord).origin)))).toEqual([
      rendered(1),
      rendered(3),
    ]);
    await table.close();
  });
});

describe('dead letter rendering', () => {
  it('a null key and value stay null', () => {
    const dead = new OriginCollector();
    const e = errorsTo(dead);
    e.failed(new Error('boom'), { a: 1 }, 5, origin(0, { key: null, value: null }));
    e.flush();
    const o = (dead.got[0]?.rec as ErrorRecord).origin;
    expect(o?.key).toBeNull();
    expect(o?.value).toBeNull();
  });
});

describe('an exchange', () => {
  it('not built to carry origins hands records on without them', () => {
    const ch = new LocalChannel(16);
    const ex = new ForwardExchange(ch);
    ex.push(batch(input).b);
    const el = ch.poll();
    expect(el?.kind).toBe('batch');
    expect(el?.kind === 'batch' ? el.batch.origins : 'none').toBeUndefined();
  });
});

describe('records with many parents', () => {
  // Keyed steps sit behind an exchange, which carries no origins into them; even handed some,
  // an aggregate names none: its outputs are made of many records.
  const keyed = () => {
    const b = keyedBatch([
      [{ k: 'a', v: 1 }, 1, ['a']],
      [{ k: 'a', v: 'x' }, 2, ['a']],
      [{ k: 'a', v: 3 }, 3, ['a']],
    ]);
    b.origins = [origin(0), origin(1), origin(2)];
    return b;
  };

  it('a rolling aggregate: no origin on its output or its dead letters', () => {
    const out = new OriginCollector();
    const dead = new OriginCollector();
    const c = testContext();
    const op = new RollingAggregateOperator(
      'agg',
      ['k'],
      aggregators({ s: 'sum(v)' }),
      c,
      out,
      new RecordErrors(c, dead),
    );
    op.push(keyed());
    expect(out.got.map((g) => [g.rec['s'], g.origin])).toEqual([
      [1, undefined],
      [4, undefined],
    ]);
    expect(dead.got.map((g) => ('origin' in g.rec ? 'origin' : (g.rec as ErrorRecord).record))).toEqual([
      { k: 'a', v: 'x' },
    ]);
  });

  it('a window aggregate: no origin on what it fires', () => {
    const out = new OriginCollector();
    const dead = new OriginCollector();
    const c = testContext();
    const op = new WindowAggregateOperator(
      'w',
      {
        window: { kind: 'tumbling', size: 10, offset: 0 },
        eventTime: true,
        allowedLateness: 0,
        keyFields: ['k'],
        aggregates: aggregators({ n: 'count()' }),
      },
      c,
      out,
      undefined,
      new RecordErrors(c, dead),
    );
    op.push(keyed());
    op.watermark(100);
    expect(out.got.map((g) => [g.rec['n'], g.origin])).toEqual([[3, undefined]]);
  });
});
