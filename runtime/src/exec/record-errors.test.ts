// A record an expression fails on: to the step's errorOutput (a stream a sink reads), else the
// job's onRecordError (skip: counted and dropped; fail: the job fails naming step and record).
import { describe, expect, it } from 'vitest';
import { checkGraph, validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { CollectingSink, type Emitted } from '../testing/harness.ts';
import { JobExecutor } from '../job/job-executor.ts';

const records = [
  { id: 1, x: '2', ts: 1000 },
  { id: 2, x: 'two', ts: 2000 },
  { id: 3, x: '4', ts: 3000 },
  { id: 4, x: '0', ts: 4000 },
];

const graph = (over: Partial<GraphSpec>, step: Record<string, unknown> = {}): GraphSpec =>
  ({
    sources: [
      { name: 'in', collection: { records }, timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' } },
    ],
    steps: [
      { name: 'parsed', from: 'in', map: { id: 'id', n: 'int(x)' }, ...step },
      { name: 'ratio', from: 'parsed', filter: '[1, 2, 3][int(n)] > 0' },
    ],
    sinks: [{ name: 'out', from: 'ratio', console: {} }],
    ...over,
  }) as unknown as GraphSpec;

async function run(spec: GraphSpec, parallelism = 1): Promise<Map<string, Emitted[]>> {
  const g = validateGraph(spec);
  const results = new Map<string, Emitted[]>(g.spec.sinks.map((s) => [s.name, []]));
  await new JobExecutor(g, { parallelism, sinkWriter: (s) => new CollectingSink(results.get(s.name)) }).run();
  return results;
}

describe('records an expression fails on', () => {
  it('go to the errorOutput with the step, the error and the record, at the record’s event time', async () => {
    const spec = graph({
      steps: [
        { name: 'parsed', from: 'in', map: { id: 'id', n: 'int(x)' }, errorOutput: 'unparsed' },
        { name: 'ratio', from: 'parsed', filter: '[1, 2, 3][int(n)] > 0', errorOutput: 'div-errors' },
      ],
      sinks: [
        { name: 'out', from: 'ratio', console: {} },
        { name: 'dead', from: 'unparsed', console: {} },
        { name: 'dead2', from: 'div-errors', console: {} },
      ],
    } as unknown as Partial<GraphSpec>);
    for (const parallelism of [1, 2]) {
      const got = await run(spec, parallelism);
      expect(got.get('out')!.map((e) => e.rec)).toEqual([
        { id: 1, n: 2n },
        { id: 4, n: 0n },
      ]);
      const dead = got.get('dead')!;
      expect(dead).toHaveLength(1);
      expect(dead[0]!.ts).toBe(2000);
      expect(dead[0]!.rec).toMatchObject({ step: 'parsed', record: { id: 2, x: 'two', ts: 2000 } });
      expect(String(dead[0]!.rec['error'])).toMatch(/int\(\) type error/);
      const div = got.get('dead2')!;
      expect(div.map((e) => [e.ts, e.rec['step'], e.rec['record']])).toEqual([[3000, 'ratio', { id: 3, n: 4n }]]);
      expect(String(div[0]!.rec['error'])).toMatch(/index|range|bound/i);
    }
  });

  it('are counted and dropped by default (onRecordError: skip), per step and error in the result and status', async () => {
    const spec = validateGraph(graph({}));
    const out: Emitted[] = [];
    const job = new JobExecutor(spec, { parallelism: 1, sinkWriter: () => new CollectingSink(out) });
    const result = await job.run();
    expect(out.map((e) => e.rec)).toEqual([
      { id: 1, n: 2n },
      { id: 4, n: 0n },
    ]);
    expect(result.recordsDropped).toEqual([
      { step: 'parsed', code: 'TRIB_EXPR_EVAL', error: expect.stringMatching(/int\(\)/), count: 1 },
      { step: 'ratio', code: 'TRIB_EXPR_EVAL', error: expect.stringMatching(/index|range|bound/i), count: 1 },
    ]);
    expect(job.status().recordsDropped).toEqual(result.recordsDropped);
  });

  it('fail the job under onRecordError: fail, naming the step, the error and the record', async () => {
    await expect(run(graph({ onRecordError: 'fail' }))).rejects.toMatchObject({
      code: 'TRIB_RECORD_FAILED',
      message: expect.stringMatching(
        /step "parsed": int\(\) type error.*\(onRecordError: fail\); record: \{"id":2,"x":"two","ts":2000\}/,
      ),
    });
  });

  it('refuse errorOutput where no expression runs per record, a taken name, and an unknown policy', () => {
    const { issues } = checkGraph(
      graph({ onRecordError: 'ignore' } as unknown as Partial<GraphSpec>, { errorOutput: 'in' }),
      'graph',
    );
    expect(issues.map((i) => i.path)).toEqual(['graph.onRecordError', 'graph.steps[0].errorOutput']);
    const keyBy = checkGraph(
      graph({
        steps: [{ name: 'k', from: 'in', keyBy: 'id', errorOutput: 'e' }],
        sinks: [{ name: 'out', from: 'k', console: {} }],
      } as unknown as Partial<GraphSpec>),
      'graph',
    );
    expect(keyBy.issues[0]).toMatchObject({ path: 'graph.steps[0].errorOutput' });
    expect(keyBy.issues[0]!.message).toMatch(/applies to a keyBy on an expression or a function/);
  });
});
