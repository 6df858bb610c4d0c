// A lookup step's key and column: both strings, or both lists of the same non-zero length
// (a composite key), each error naming its field.
import { describe, expect, it } from 'vitest';
import { UNTYPED_CONNECTOR_RULES } from './testing/untyped-rules.ts';
import type { ValidationIssue } from '../errors.ts';
import { checkGraphWith } from './validate.ts';

const connectors = UNTYPED_CONNECTOR_RULES;

function graph(lookup: Record<string, unknown>) {
  return {
    sources: [
      { name: 'orders', collection: { records: [{ region: 'eu', id: 1 }] } },
      { name: 'items', kudu: { masters: 'localhost:7051', table: 'items' } },
    ],
    steps: [{ name: 'enriched', from: 'orders', lookup: { table: 'items', ...lookup } }],
    sinks: [{ name: 'out', from: 'enriched', console: {} }],
  };
}

const messages = (lookup: Record<string, unknown>): string[] =>
  checkGraphWith(graph(lookup), connectors).issues.map((i: ValidationIssue) => `${i.path}: ${i.message}`);

describe('lookup key and column', () => {
  it('accepts both strings, and both lists of the same length', () => {
    expect(messages({ key: 'id', column: 'id' })).toEqual([]);
    expect(messages({ key: ['region', 'string(id)'], column: ['region', 'id'] })).toEqual([]);
    expect(messages({ key: ['id'], column: ['id'] })).toEqual([]);
  });

  it('refuses lists of different lengths, naming the column', () => {
    expect(messages({ key: ['region', 'id'], column: ['region'] })).toEqual([
      'graph.steps[0].lookup.column: expected as many columns as key expressions (2), got 1',
    ]);
  });

  it('refuses a list against a string, and an empty list, naming the field', () => {
    expect(messages({ key: ['region', 'id'], column: 'region' })).toEqual([
      'graph.steps[0].lookup.column: expected a non-empty list of column names (key and column are both strings, or both lists of the same length), got "region"',
    ]);
    expect(messages({ key: 'id', column: ['id'] })).toEqual([
      'graph.steps[0].lookup.key: expected a non-empty list of CEL expressions (key and column are both strings, or both lists of the same length), got "id"',
    ]);
    expect(messages({ key: [], column: [] })).toEqual([
      'graph.steps[0].lookup.key: expected a non-empty list of CEL expressions (key and column are both strings, or both lists of the same length), got []',
      'graph.steps[0].lookup.column: expected a non-empty list of column names (key and column are both strings, or both lists of the same length), got []',
    ]);
  });

  it('checks each entry: an invalid expression, an empty or repeated column', () => {
    const m = messages({ key: ['region', 'id +'], column: ['', 'region', 'region'] }).join('\n');
    expect(m).toContain('graph.steps[0].lookup.key[1]: invalid expression');
    expect(m).toContain('graph.steps[0].lookup.column[0]: expected a column name, got ""');
    expect(m).toContain('graph.steps[0].lookup.column[2]: column "region" is named twice');
    expect(m).toContain('graph.steps[0].lookup.column: expected as many columns as key expressions (2), got 3');
  });
});
