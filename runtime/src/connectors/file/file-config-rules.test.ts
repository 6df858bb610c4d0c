import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const graph = (source: unknown, sink: unknown = { path: 'out.jsonl' }) => ({
  sources: [{ name: 's', file: source }],
  sinks: [{ name: 'o', from: 's', file: sink }],
});
const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);

describe('file config rules', () => {
  it('source: path, format, onError; string and bytes records are {value}', () => {
    expect(messages(graph({ path: '' }))).toEqual(['graph.sources[0].file.path: expected a non-empty string, got ""']);
    expect(messages(graph({ path: 'p', format: 'x', onError: 'deadLetter' }))).toEqual([
      'graph.sources[0].file.format: expected one of json, string, bytes, got "x"',
      'graph.sources[0].file.onError: expected one of skip, fail, got "deadLetter"',
    ]);
    expect(checkGraph(graph({ path: 'p', format: 'string' })).graph?.nodes.get('s')?.schema).toEqual({
      value: 'string',
    });
    expect(checkGraph(graph({ path: 'p', schema: { a: 'double' } })).graph?.nodes.get('s')?.schema).toEqual({
      a: 'double',
    });
  });

  it('sink: a path only', () => {
    expect(messages(graph({ path: 'p' }, { x: 1 }))).toEqual([
      'graph.sinks[0].file.x: unknown field; expected one of path',
      'graph.sinks[0].file.path: expected a non-empty string, got nothing',
    ]);
  });
});
