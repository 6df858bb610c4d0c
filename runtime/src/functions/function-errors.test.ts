// A record a function step throws on follows the job's failure/dead-letter policy with the
// record attached: the step's errorOutput (a stream a sink reads, {step, error, code?, record}
// at the record's event time), else the step's onError, else the job's onRecordError, else
// fail. Validation refuses errorOutput where it cannot apply, naming the field.
import { describe, expect, it } from 'vitest';
import { StreamEnvironment, WatermarkStrategy } from '../api.ts';
import { checkGraph } from '../connectors/validate-graph.ts';
import { isTributaryError, TributaryError } from '../errors.ts';
import type { Emitted } from '../testing/harness.ts';

interface Order {
  id: number;
  qty: string;
  ts: number;
}
const orders: Order[] = [
  { id: 1, qty: '2', ts: 1000 },
  { id: 2, qty: 'two', ts: 2000 },
  { id: 3, qty: '4', ts: 3000 },
  { id: 4, qty: '-', ts: 4000 },
];
const parse = (o: Order): { id: number; qty: number } => {
  const qty = Number(o.qty);
  if (!Number.isFinite(qty))
    throw new TributaryError('TRIB_RECORD_FAILED', `qty ${JSON.stringify(o.qty)} is not a number`);
  return { id: o.id, qty };
};

function source(env: StreamEnvironment) {
  return env.fromCollection<Order>(orders, {
    watermarks: WatermarkStrategy.forMonotonousTimestamps<Order>().withTimestampAssigner((o) => o.ts),
  });
}

const recs = (out: Map<string, Emitted[]>, sink: string): unknown[] => (out.get(sink) ?? []).map((e) => e.rec);

describe('a function step that throws', () => {
  it('sends the record to its errorOutput with the step, the error and the code, at the record’s event time', async () => {
    for (const parallelism of [1, 2]) {
      const env = new StreamEnvironment();
      const parsed = source(env).map(parse, { name: 'parse', errorOutput: 'bad-orders' });
      parsed.print('out');
      parsed.errors().print('dead');
      const out = await env.executeAndCollect({ parallelism });
      expect(recs(out, 'out')).toEqual([
        { id: 1, qty: 2 },
        { id: 3, qty: 4 },
      ]);
      const dead = [...(out.get('dead') ?? [])].sort((a, b) => a.ts - b.ts);
      expect(dead.map((e) => e.ts)).toEqual([2000, 4000]);
      expect(dead[0]?.rec).toEqual({
        step: 'parse',
        error: 'qty "two" is not a number',
        code: 'TRIB_RECORD_FAILED',
        record: { id: 2, qty: 'two', ts: 2000 },
      });
      expect(dead[1]?.rec).toMatchObject({ step: 'parse', record: { id: 4, qty: '-', ts: 4000 } });
    }
  });

  it('routes filter and flatMap errors too; a flatMap’s partial output for the failed record is not emitted', async () => {
    const env = new StreamEnvironment();
    const kept = source(env).filter(
      (o) => {
        if (o.id === 3) throw new Error('three');
        return true;
      },
      { name: 'keep', errorOutput: 'keep-errors' },
    );
    const split = kept.flatMap(
      function* (o) {
        yield o.id * 10;
        if (o.qty === 'two') throw new Error('cannot split two');
        yield o.id * 10 + 1;
      },
      { name: 'split', errorOutput: 'split-errors' },
    );
    split.print('out');
    kept.errors().print('keep-dead');
    split.errors().print('split-dead');
    const out = await env.executeAndCollect();
    expect(recs(out, 'out')).toEqual([10, 11, 40, 41]);
    expect(recs(out, 'keep-dead')).toEqual([{ step: 'keep', error: 'three', record: { id: 3, qty: '4', ts: 3000 } }]);
    expect(recs(out, 'split-dead')).toEqual([
      { step: 'split', error: 'cannot split two', record: { id: 2, qty: 'two', ts: 2000 } },
    ]);
  });

  it('follows the job’s onRecordError when the step says nothing: skip drops, fail fails with the record', async () => {
    const skipping = new StreamEnvironment().setOnRecordError('skip');
    source(skipping).map(parse, 'parse').print('out');
    expect(recs(await skipping.executeAndCollect(), 'out')).toEqual([
      { id: 1, qty: 2 },
      { id: 3, qty: 4 },
    ]);

    const failing = new StreamEnvironment().setOnRecordError('fail');
    source(failing).map(parse, 'parse').print('out');
    const err = await failing.executeAndCollect().catch((e: unknown) => e);
    expect(isTributaryError(err, 'TRIB_FUNCTION_FAILED')).toBe(true);
    expect((err as { record: unknown }).record).toEqual({ id: 2, qty: 'two', ts: 2000 });
    expect((err as Error).message).toContain('step "parse"');
  });

  it('lets the step’s onError win over the job’s onRecordError', async () => {
    const env = new StreamEnvironment().setOnRecordError('fail');
    source(env).map(parse, { name: 'parse', onError: 'skip' }).print('out');
    expect(recs(await env.executeAndCollect(), 'out')).toHaveLength(2);

    const env2 = new StreamEnvironment().setOnRecordError('skip');
    source(env2).map(parse, { name: 'parse', onError: 'fail' }).print('out');
    const err = await env2.executeAndCollect().catch((e: unknown) => e);
    expect(isTributaryError(err, 'TRIB_FUNCTION_FAILED')).toBe(true);
  });

  it('fails by default (no errorOutput, no onError, no onRecordError): a throw is a bug in the job’s code', async () => {
    const env = new StreamEnvironment();
    source(env).map(parse, 'parse').print('out');
    const err = await env.executeAndCollect().catch((e: unknown) => e);
    expect(isTributaryError(err, 'TRIB_FUNCTION_FAILED')).toBe(true);
  });

  it('refuses an errorOutput on keyed function steps and together with onError, naming the field', () => {
    const env = new StreamEnvironment();
    source(env)
      .keyBy('id')
      .reduce((a) => a, { name: 'sum', errorOutput: 'sum-errors' })
      .print('out');
    source(env).map(parse, { name: 'both', onError: 'skip', errorOutput: 'both-errors' }).print('out2');
    const { issues } = checkGraph(env.toGraph());
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: expect.stringMatching(/steps\[\d+\]\.errorOutput$/),
          message: expect.stringContaining('not "reduce"'),
        }),
        expect.objectContaining({
          path: expect.stringMatching(/steps\[\d+\]\.errorOutput$/),
          message: expect.stringContaining('function.onError'),
        }),
      ]),
    );
  });

  it('says how to get an error stream when the step has none', () => {
    const env = new StreamEnvironment();
    const s = source(env).map(parse, 'parse');
    expect(() => s.errors()).toThrow(/step parse has no errorOutput/);
  });
});
