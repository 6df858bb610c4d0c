// A record a keyBy expression, an aggregate's argument, a join's select or a kafka sink's key
// fails on: to the errorOutput of that step (or sink) as {step, error, code?, record} at its
// event time, else the job's onRecordError (skip: counted and dropped; fail: the job fails).
import { describe, expect, it } from 'vitest';
import { checkGraph, validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { jsonText } from '../core/json-text.ts';
import { CollectingSink, type Emitted } from '../testing/harness.ts';
import { JobExecutor } from '../job/job-executor.ts';

const records = [
  { id: 1, g: 'a', x: '2', ts: 1000 },
  { id: 2, g: 'a', x: 'two', ts: 2000 },
  { id: 3, g: 'b', x: '4', ts: 3000 },
  { id: 4, g: 'b', x: '0', ts: 4000 },
];
const bad = records[1];

const source = (name: string, recs: unknown[] = records) => ({
  name,
  collection: { records: recs },
  timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' },
});

async function run(spec: unknown, parallelism = 1): Promise<Map<string, Emitted[]>> {
  const g = validateGraph(spec);
  const results = new Map<string, Emitted[]>(g.spec.sinks.map((s) => [s.name, []]));
  await new JobExecutor(g, { parallelism, sinkWriter: (s) => new CollectingSink(results.get(s.name)) }).run();
  return results;
}

/** The graph without its errorOutputs (steps and sinks) and their dead-letter sink. */
function withoutErrorOutput(spec: GraphSpec, onRecordError?: 'skip' | 'fail'): GraphSpec {
  const strip = <T extends { errorOutput?: string }>(x: T): T => {
    const { errorOutput: _, ...rest } = x;
    return rest as T;
  };
  return {
    ...spec,
    steps: (spec.steps ?? []).map(strip),
    sinks: spec.sinks.filter((s) => s.name !== 'dead').map(strip),
    ...(onRecordError ? { onRecordError } : {}),
  };
}

interface Case {
  place: string;
  spec: GraphSpec;
  /** The step (or sink) the error record names. */
  step: string;
  /** The main sink's records, sorted, when the bad record is dead-lettered (and when skipped). */
  out: unknown[];
  /** What the error record carries as `record`, and at which event time. */
  record: unknown;
  ts: number;
}

const cases: Case[] = [
  {
    place: 'keyBy expression',
    spec: {
      sources: [source('in')],
      steps: [
        { name: 'k', from: 'in', keyBy: { expr: 'int(x)', as: 'n' }, errorOutput: 'bad-keys' },
        { name: 'counts', from: 'k', aggregate: { c: 'count()' } },
      ],
      sinks: [
        { name: 'out', from: 'counts', console: {} },
        { name: 'dead', from: 'bad-keys', console: {} },
      ],
    } as unknown as GraphSpec,
    step: 'k',
    out: [
      { c: 1, n: 0 },
      { c: 1, n: 2 },
      { c: 1, n: 4 },
    ],
    record: bad,
    ts: 2000,
  },
  {
    place: 'window aggregate argument',
    spec: {
      sources: [source('in')],
      steps: [
        { name: 'k', from: 'in', keyBy: 'g' },
        { name: 'w', from: 'k', window: { tumbling: { size: '10s' } } },
        { name: 'totals', from: 'w', aggregate: { total: 'sum(int(x))', c: 'count()' }, errorOutput: 'unsummed' },
      ],
      sinks: [
        { name: 'out', from: 'totals', console: {} },
        { name: 'dead', from: 'unsummed', console: {} },
      ],
    } as unknown as GraphSpec,
    step: 'totals',
    out: [
      { c: 1, g: 'a', total: 2, window_end: 10000, window_start: 0 },
      { c: 2, g: 'b', total: 4, window_end: 10000, window_start: 0 },
    ],
    record: bad,
    ts: 2000,
  },
  {
    place: 'rolling aggregate argument',
    spec: {
      sources: [source('in')],
      steps: [
        { name: 'k', from: 'in', keyBy: 'g' },
        { name: 'running', from: 'k', aggregate: { total: 'sum(int(x))' }, errorOutput: 'unsummed' },
      ],
      sinks: [
        { name: 'out', from: 'running', console: {} },
        { name: 'dead', from: 'unsummed', console: {} },
      ],
    } as unknown as GraphSpec,
    step: 'running',
    out: [
      { g: 'a', total: 2 },
      { g: 'b', total: 4 },
      { g: 'b', total: 4 },
    ],
    record: bad,
    ts: 2000,
  },
  {
    place: 'join select',
    spec: {
      sources: [source('left'), source('right', [{ g: 'a', y: 10, ts: 2500 }])],
      steps: [
        { name: 'kl', from: 'left', keyBy: 'g' },
        { name: 'kr', from: 'right', keyBy: 'g' },
        {
          name: 'j',
          from: ['kl', 'kr'],
          join: { lowerBound: '0s', upperBound: '1s', select: { id: 'left.id', sum: 'int(left.x) + right.y' } },
          errorOutput: 'unjoined',
        },
      ],
      sinks: [
        { name: 'out', from: 'j', console: {} },
        { name: 'dead', from: 'unjoined', console: {} },
      ],
    } as unknown as GraphSpec,
    step: 'j',
    out: [],
    record: { left: bad, right: { g: 'a', y: 10, ts: 2500 } },
    ts: 2500,
  },
  {
    place: 'kafka sink key',
    spec: {
      sources: [source('in')],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: { brokers: '127.0.0.1:1', topic: 't', key: 'int(x)' },
          errorOutput: 'unkeyed',
        },
        { name: 'dead', from: 'unkeyed', console: {} },
      ],
    } as unknown as GraphSpec,
    step: 'out',
    out: records.filter((r) => r !== bad),
    record: bad,
    ts: 2000,
  },
];

/** Flat records as JSON with their fields in name order (fields come in differing orders). */
const canon = (r: object) => jsonText(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))));
const sorted = (es: Emitted[]) => es.map((e) => canon(e.rec)).sort();

describe('records a keyBy, aggregate, join or sink key fails on', () => {
  for (const c of cases) {
    it(`${c.place}: go to the errorOutput with the step, the error and the record, at its event time`, async () => {
      for (const parallelism of [1, 2]) {
        const got = await run(c.spec, parallelism);
        expect(sorted(got.get('out')!)).toEqual(c.out.map((r) => canon(r as object)).sort());
        const dead = got.get('dead')!;
        expect(dead.map((e) => [e.ts, e.rec['step'], e.rec['record']])).toEqual([[c.ts, c.step, c.record]]);
        expect(dead[0]!.rec).toMatchObject({ code: 'TRIB_EXPR_EVAL', error: expect.stringMatching(/int\(\)/) });
      }
    });

    it(`${c.place}: without errorOutput, follow onRecordError (skip: dropped; fail: the job fails naming the step)`, async () => {
      const skipped = await run(withoutErrorOutput(c.spec), 2);
      expect(sorted(skipped.get('out')!)).toEqual(sorted((await run(c.spec, 2)).get('out')!));
      await expect(run(withoutErrorOutput(c.spec, 'fail'))).rejects.toMatchObject({
        code: 'TRIB_RECORD_FAILED',
        message: expect.stringMatching(
          new RegExp(`step "${c.step}": .*int\\(\\).*\\(onRecordError: fail\\); record: \\{`),
        ),
      });
    });
  }

  it('validation refuses errorOutput where no expression can fail, and a taken name', () => {
    const issues = (spec: unknown) => checkGraph(spec, 'graph').issues.map((i) => [i.path, i.message]);
    const base = cases[0]!.spec;
    expect(
      issues({
        ...base,
        steps: [
          { name: 'k', from: 'in', keyBy: 'g', errorOutput: 'e1' },
          { name: 'w', from: 'k', window: { tumbling: { size: '10s' } }, errorOutput: 'e2' },
          { name: 'c', from: 'w', aggregate: { c: 'count()' }, errorOutput: 'in' },
        ],
        sinks: [{ name: 'out', from: 'c', console: {}, errorOutput: 'e3' }],
      }),
    ).toEqual([
      ['graph.steps[0].errorOutput', expect.stringMatching(/keyBy on an expression or a function; a key of fields/)],
      ['graph.steps[1].errorOutput', expect.stringMatching(/applies to filter, map, flatMap, keyBy, .* not window/)],
      ['graph.steps[2].errorOutput', 'duplicate name "in" (also graph.sources[0])'],
      ['graph.sinks[0].errorOutput', expect.stringMatching(/kafka sink with key or a registry format/)],
    ]);
    const join = cases[3]!.spec;
    const steps = join.steps!.map((s) => (s.name === 'j' ? { ...s, join: { lowerBound: '0s', upperBound: '1s' } } : s));
    expect(issues({ ...join, steps })[0]).toEqual([
      'graph.steps[2].errorOutput',
      expect.stringMatching(/join with select/),
    ]);
  });
});
