import { describe, expect, it } from 'vitest';
import { isTributaryError, type ValidationIssue } from '../errors.ts';
import { isObj } from './checker.ts';
import type { ConnectorConfigRules, SinkConfigRule, SourceConfigRule } from './connector-rules.ts';
import { planGraph, describePlan } from './plan.ts';
import type { FieldTypes } from '../core/record.ts';
import { checkGraphWith, validateGraphWith, type ValidatedGraph } from './validate.ts';

// graph/ never imports connectors/, so the graph rules run here with stand-in connector rules:
// no config checks, and a source's records have the types of its datagen `fields` (string, else
// double), as the real datagen rules say. The connectors' rules are tested beside each
// connector; graph and connector rules together in connectors/validate-graph.test.ts.
const typedByFields: SourceConfigRule = (_c, cfg) =>
  isObj(cfg['fields'])
    ? (Object.fromEntries(
        Object.entries(cfg['fields']).map(([f, g]) => [f, isObj(g) && g['type'] === 'string' ? 'string' : 'double']),
      ) as FieldTypes)
    : undefined;
const anySink: SinkConfigRule = { check: () => {} };
const connectors: ConnectorConfigRules = {
  kafka: { source: typedByFields, sink: anySink },
  datagen: { source: typedByFields },
  file: { source: typedByFields, sink: anySink },
  collection: { source: typedByFields },
  druid: { source: typedByFields, sink: anySink },
  console: { sink: anySink },
  kudu: { source: typedByFields, sink: anySink },
};
const checkGraph = (g: unknown): { graph?: ValidatedGraph; issues: ValidationIssue[] } => checkGraphWith(g, connectors);
const validateGraph = (g: unknown): ValidatedGraph => validateGraphWith(g, connectors);

const base = () => ({
  sources: [
    {
      name: 'clicks',
      datagen: {
        generator: 'schema',
        fields: { user: { type: 'string' }, price: { type: 'double' }, ts: { type: 'timestamp' } },
      },
      timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '5s' },
    },
  ],
  steps: [
    { name: 'cheap', from: 'clicks', filter: 'price < 10.0' },
    { name: 'by-user', from: 'cheap', keyBy: 'user' },
    { name: 'per-minute', from: 'by-user', window: { tumbling: { size: '1m' } } },
    { name: 'counts', from: 'per-minute', aggregate: { n: 'count()', spent: 'sum(price)' } },
  ],
  sinks: [{ name: 'out', from: 'counts', console: {} }],
});

function issues(g: unknown): ValidationIssue[] {
  return checkGraph(g).issues;
}

function messages(g: unknown): string[] {
  return issues(g).map((i) => `${i.path}: ${i.message}`);
}

describe('validateGraph', () => {
  it('accepts a valid graph and infers output field types', () => {
    const g = validateGraph(base());
    expect(g.nodes.get('counts')?.schema).toEqual({
      user: 'string',
      window_start: 'double',
      window_end: 'double',
      n: 'double',
      spent: 'double',
    });
    expect(g.order.indexOf('clicks')).toBeLessThan(g.order.indexOf('out'));
  });

  it('names the path and the expectation for a bad duration', () => {
    const g = base();
    (g.steps[2] as { window: unknown }).window = { tumbling: { size: 'abc' } };
    expect(messages(g)).toEqual(['graph.steps[2].window.tumbling.size: expected a duration like "1m", got "abc"']);
  });

  it('reports an unknown input with the known names', () => {
    const g = base();
    g.steps[1]!.from = 'chep';
    expect(messages(g)).toEqual([
      'graph.steps[1].from: unknown input "chep"; expected one of clicks, cheap, by-user, per-minute, counts',
    ]);
  });

  it('reports duplicate names', () => {
    const g = base();
    g.steps[1]!.name = 'cheap';
    expect(messages(g)[0]).toBe('graph.steps[1].name: duplicate name "cheap" (also graph.steps[0])');
  });

  it('reports cycles', () => {
    const g = {
      sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
      steps: [
        { name: 'a', from: ['s', 'b'], union: {} },
        { name: 'b', from: 'a', filter: 'true' },
      ],
      sinks: [{ name: 'out', from: 'b', console: {} }],
    };
    expect(messages(g)).toEqual(['graph.steps[0].from: cycle between "a", "b"; a graph must be acyclic']);
  });

  it('type-checks CEL against known fields', () => {
    const g = base();
    g.steps[0]!.filter = 'price + user';
    expect(messages(g)).toEqual([
      'graph.steps[0].filter: invalid expression "price + user": no such overload: double + string',
    ]);
    g.steps[0]!.filter = 'prize < 1.0';
    expect(messages(g)).toEqual(['graph.steps[0].filter: invalid expression "prize < 1.0": Unknown variable: prize']);
    g.steps[0]!.filter = 'price';
    expect(messages(g)).toEqual(['graph.steps[0].filter: expected a bool expression, got type double from "price"']);
    g.steps[0]!.filter = 'price <';
    expect(messages(g)[0]).toMatch(/^graph\.steps\[0\]\.filter: invalid expression "price <": Unexpected token/);
  });

  it('type-checks downstream of a map using the projected types', () => {
    const g = base();
    g.steps.splice(1, 0, { name: 'proj', from: 'cheap', map: { who: 'user', cents: 'price * 100' } } as never);
    g.steps[2]!.from = 'proj';
    g.steps[2]!.keyBy = 'user';
    expect(messages(g)).toEqual([
      'graph.steps[2].keyBy: unknown field "user"; the input "proj" has who, cents',
      'graph.steps[4].aggregate.spent: invalid expression "price": Unknown variable: price',
    ]);
  });

  it('requires a keyBy before a keyed window', () => {
    const g = base();
    g.steps[2]!.from = 'cheap';
    expect(messages(g)).toEqual([
      'graph.steps[2].from: window needs a keyed input: expected "cheap" to be a keyBy step (add a keyBy step before this window), got a filter',
    ]);
  });

  it('requires exactly one aggregate after a window, with valid functions', () => {
    const g = base();
    (g.steps[3] as { aggregate: unknown }).aggregate = { n: 'median(price)' };
    expect(messages(g)).toEqual([
      'graph.steps[3].aggregate.n: unknown aggregate function "median"; expected one of count, sum, min, max, avg, countDistinct, first, last',
    ]);
    const g2 = base();
    g2.sinks[0]!.from = 'per-minute';
    g2.steps.pop();
    expect(messages(g2)).toEqual([
      'graph.steps[2]: a window must be read by exactly one aggregate step (its results); got "out" (console)',
    ]);
  });

  it('refuses aggregates over types they cannot take (sum/avg: numbers; min/max: numbers, strings, timestamps)', () => {
    const g = base();
    (g.steps[3] as { aggregate: unknown }).aggregate = {
      s: 'sum(user)',
      hi: 'max(price > 1.0)',
      lo: 'min([price])',
      ok: 'max(user)',
      t: 'min(timestamp("2024-01-01T00:00:00Z"))',
    };
    expect(messages(g)).toEqual([
      'graph.steps[3].aggregate.s: sum() needs a number, got type string from "user"',
      'graph.steps[3].aggregate.hi: max() needs a number, a string or a timestamp, got type bool from "price > 1.0"',
      'graph.steps[3].aggregate.lo: min() needs a number, a string or a timestamp, got type list<double> from "[price]"',
    ]);
  });

  it('rejects unknown fields, missing kinds and bad sources', () => {
    expect(
      messages({
        sources: [{ name: 'x', kafka: { topic: 't' }, extra: 1 }],
        sinks: [{ name: 'o', from: 'x', console: {} }],
      }),
    ).toEqual([
      'graph.sources[0].extra: unknown field; expected one of name, timestamp, kafka, datagen, file, collection, druid, kudu',
    ]);
    expect(messages({ sources: [], sinks: [] })).toEqual([
      'graph.sources: expected a non-empty list, got []',
      'graph.sinks: expected a non-empty list, got []',
    ]);
    expect(
      messages({
        sources: [{ name: 's', datagen: { generator: 'nexmark' } }],
        steps: [{ name: 'x', from: 's' }],
        sinks: [{ name: 'o', from: 'x', console: {} }],
      }),
    ).toEqual([
      'graph.steps[0]: expected exactly one step kind (filter, map, flatMap, keyBy, window, aggregate, union, join, dedupe, lookup, function), got none',
    ]);
  });

  it('validates late outputs, join arity and dedupe', () => {
    const g = base();
    (g.steps[2] as { window: unknown }).window = {
      tumbling: { size: '1m' },
      allowedLateness: '10s',
      lateOutput: 'late',
    };
    (g.sinks as unknown[]).push({ name: 'late-out', from: 'late', file: { path: '/tmp/late.jsonl' } });
    expect(messages(g)).toEqual([]);
    const j = {
      sources: [
        { name: 'a', collection: { records: [{ u: 'x' }] } },
        { name: 'b', collection: { records: [{ u: 'x', v: 1 }] } },
      ],
      steps: [
        { name: 'ka', from: 'a', keyBy: 'u' },
        { name: 'kb', from: 'b', keyBy: ['u', 'v'] },
        { name: 'j', from: ['ka', 'kb'], join: { lowerBound: '5s', upperBound: '-5s' } },
      ],
      sinks: [{ name: 'o', from: 'j', console: {} }],
    };
    expect(messages(j)).toEqual([
      'graph.steps[2].join.upperBound: expected upperBound ≥ lowerBound (5s), got "-5s"',
      'graph.steps[2].from: join inputs must have keys of the same arity; "ka" has 1 key part(s), "kb" has 2',
    ]);
  });

  it('throws TRIB_GRAPH_INVALID with every issue', () => {
    try {
      validateGraph({ sources: [{ name: 's' }], sinks: [{ name: 'o', from: 'nope', console: {} }] });
      expect.unreachable();
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_GRAPH_INVALID')).toBe(true);
      expect((e as { issues: ValidationIssue[] }).issues.map((i) => i.path)).toEqual([
        'graph.sources[0]',
        'graph.sinks[0].from',
      ]);
    }
  });

  it('runs each connector rule on its config at its path; a source rule types the records, a sink rule the expressions', () => {
    const calls: string[] = [];
    const rules: ConnectorConfigRules = {
      ...connectors,
      collection: { source: (_c, cfg, path) => (calls.push(`source ${path} ${JSON.stringify(cfg)}`), { n: 'double' }) },
      console: {
        sink: {
          check: (_c, cfg, path) => calls.push(`sink ${path} ${JSON.stringify(cfg)}`),
          checkTyped: (c, _cfg, path, input) => c.add(path, `input ${JSON.stringify(input)}`),
        },
      },
    };
    const g = {
      sources: [{ name: 's', collection: { records: [] } }],
      steps: [{ name: 'f', from: 's', filter: 'n > 1.0' }],
      sinks: [{ name: 'o', from: 'f', console: null }],
    };
    expect(checkGraphWith(g, rules, 'spec.graph').issues).toEqual([
      { path: 'spec.graph.sinks[0].console', message: 'input {"n":"double"}' },
    ]);
    expect(calls).toEqual([
      'source spec.graph.sources[0].collection {"records":[]}',
      'sink spec.graph.sinks[0].console {}',
    ]);
  });

  it('plans chains between exchanges', () => {
    expect(describePlan(planGraph(validateGraph(base())))).toEqual([
      'task 0: clicks → cheap → by-user',
      'task 1: [by-user ⇉hash] ⇒ per-minute → counts → out',
    ]);
  });

  it('plans no task for a source that is a lookup table (druid or kudu): the lookup step loads it', () => {
    const g = base();
    const table = (name: string, kind: 'druid' | 'kudu') => ({ name, [kind]: { fields: { sku: { type: 'string' } } } });
    g.sources.push(table('items', 'kudu') as never, table('countries', 'druid') as never);
    g.steps.unshift(
      { name: 'titled', from: 'clicks', lookup: { table: 'items', key: 'user', column: 'sku' } } as never,
      { name: 'named', from: 'titled', lookup: { table: 'countries', key: 'user', column: 'sku' } } as never,
    );
    (g.steps[2] as { from: string }).from = 'named';
    expect(describePlan(planGraph(validateGraph(g)))).toEqual([
      'task 0: clicks → titled → named → cheap → by-user',
      'task 1: [by-user ⇉hash] ⇒ per-minute → counts → out',
    ]);
  });
});

describe('timestamp.alignment', () => {
  const withAlignment = (alignment: unknown) => {
    const g = base();
    (g.sources[0] as { timestamp: Record<string, unknown> }).timestamp['alignment'] = alignment;
    return g;
  };

  it('accepts {group?, maxDrift, updateInterval?} and false', () => {
    expect(messages(withAlignment({ group: 'g', maxDrift: '30s', updateInterval: '1s' }))).toEqual([]);
    expect(messages(withAlignment({ maxDrift: '0s' }))).toEqual([]);
    expect(messages(withAlignment(false))).toEqual([]);
  });

  it('names the field that is wrong', () => {
    expect(messages(withAlignment({ group: 'g' }))).toEqual([
      'graph.sources[0].timestamp.alignment.maxDrift: expected a duration like "1m", got nothing',
    ]);
    expect(messages(withAlignment({ maxDrift: '10s', updateInterval: '0s', drift: 1 }))).toEqual([
      'graph.sources[0].timestamp.alignment.drift: unknown field; expected one of group, maxDrift, updateInterval',
      'graph.sources[0].timestamp.alignment.updateInterval: expected a positive duration, got "0s"',
    ]);
    expect(messages(withAlignment(true))).toEqual([
      'graph.sources[0].timestamp.alignment: expected {group?, maxDrift, updateInterval?} or false, got true',
    ]);
  });
  it("takes a ttl on a rolling aggregate, a dedupe and a join only, naming the step's field", () => {
    const keyed = (ttl: unknown, step: Record<string, unknown> = { aggregate: { n: 'count()' } }) => {
      const g = base();
      return { ...g, steps: [g.steps[0], g.steps[1], { name: 'counts', from: 'by-user', ...step, ttl }] };
    };
    expect(messages(keyed('1h'))).toEqual([]);
    expect(validateGraph(keyed('1h')).spec.steps?.[2]?.ttl).toBe('1h');
    expect(messages(keyed('soon'))).toEqual(['graph.steps[2].ttl: expected a duration like "1m", got "soon"']);
    expect(messages(keyed('0s'))).toEqual(['graph.steps[2].ttl: expected a positive duration, got "0s"']);
    expect(messages(keyed('-1h'))).toEqual(['graph.steps[2].ttl: expected a positive duration, got "-1h"']);
    expect(messages(keyed('1h', { dedupe: { within: '1m' } }))).toEqual([]);
    expect(messages(keyed('1h', { dedupe: {} }))).toEqual([]);
    expect(messages(keyed('0s', { dedupe: {} }))).toEqual([
      'graph.steps[2].ttl: expected a positive duration, got "0s"',
    ]);
    expect(messages(keyed('1h', { function: { kind: 'process', ref: 'p' } }))).toContain(
      'graph.steps[2].ttl: ttl applies to a rolling aggregate (an aggregate after a keyBy), a dedupe or a join only, not to a function step: a function declares a ttl per state (getState(name, {ttl}))',
    );
    expect(messages(keyed('1h', { filter: 'true' }))).toEqual([
      'graph.steps[2].ttl: ttl applies to a rolling aggregate (an aggregate after a keyBy), a dedupe or a join only, not to a filter step',
    ]);
    const join = (ttl: unknown) => ({
      sources: [
        { name: 'a', collection: { records: [{ u: 'x' }] } },
        { name: 'b', collection: { records: [{ u: 'x' }] } },
      ],
      steps: [
        { name: 'ka', from: 'a', keyBy: 'u' },
        { name: 'kb', from: 'b', keyBy: 'u' },
        { name: 'j', from: ['ka', 'kb'], join: { lowerBound: '0s', upperBound: '30d' }, ttl },
      ],
      sinks: [{ name: 'o', from: 'j', console: {} }],
    });
    expect(messages(join('1d'))).toEqual([]);
    expect(messages(join(5))).toEqual(['graph.steps[2].ttl: expected a duration like "1m", got 5']);
    const windowed = base();
    (windowed.steps[3] as { ttl?: string }).ttl = '1h';
    expect(messages(windowed)).toEqual([
      'graph.steps[3].ttl: ttl applies to a rolling aggregate (an aggregate after a keyBy), a dedupe or a join only, not to a windowed aggregate: its state ends when its window fires (plus allowedLateness)',
    ]);
    (windowed.steps[2] as { ttl?: string }).ttl = '1h';
    expect(messages(windowed)).toContain(
      'graph.steps[2].ttl: ttl applies to a rolling aggregate (an aggregate after a keyBy), a dedupe or a join only, not to a window step: its state ends when its window fires (plus allowedLateness)',
    );
  });

  it('takes a dedupe without within (keep-first), and refuses a within that is not a positive duration', () => {
    const dedupe = (d: unknown) => {
      const g = base();
      return { ...g, steps: [g.steps[0], g.steps[1], { name: 'counts', from: 'by-user', dedupe: d }] };
    };
    expect(messages(dedupe({}))).toEqual([]);
    expect(messages(dedupe({ within: '10m' }))).toEqual([]);
    expect(messages(dedupe({ within: '0s' }))).toEqual([
      'graph.steps[2].dedupe.within: expected a positive duration, got "0s"',
    ]);
    expect(messages(dedupe('10m'))).toEqual([
      'graph.steps[2].dedupe: expected {within?: "<duration>"} ({} keeps the first record per key), got "10m"',
    ]);
  });
});
