import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (console: unknown): string[] =>
  checkGraph({
    sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
    sinks: [{ name: 'o', from: 's', console }],
  }).issues.map((i) => `${i.path}: ${i.message}`);

describe('console config rules', () => {
  it('takes an optional boolean prefix; an empty console: is fine', () => {
    expect(messages(null)).toEqual([]);
    expect(messages({ prefix: true })).toEqual([]);
    expect(messages({ prefix: 'x', z: 1 })).toEqual([
      'graph.sinks[0].console.z: unknown field; expected one of prefix',
      'graph.sinks[0].console.prefix: expected true or false, got "x"',
    ]);
  });
});
