// Field types of registry schemas for the graph's expression checks, and what validation makes
// of them: an expression over a Kafka source of a registry format with an inline reader schema
// is checked against that schema (a missing field, a string compared with a number: errors at
// the expression's path), as one over a declared `schema` is.
import { describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { isTributaryError } from '../errors.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { registryFieldTypes } from './field-types.ts';

const AVRO = JSON.stringify({
  type: 'record',
  name: 'Click',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'n', type: 'long' },
    { name: 'ok', type: 'boolean' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'int' } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A'] } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
});

function problems(spec: GraphSpec): string {
  try {
    validateGraph(spec);
  } catch (e) {
    if (isTributaryError(e)) return e.message;
    throw e;
  }
  return '';
}

const job = (format: string, inline: string, filter: string): GraphSpec => ({
  sources: [
    {
      name: 'clicks',
      kafka: {
        brokers: '127.0.0.1:19092',
        topic: 'clicks',
        format,
        registry: { url: 'http://r:8080', schema: { inline } },
      },
    } as GraphSpec['sources'][number],
  ],
  steps: [{ name: 'f', from: 'clicks', filter }],
  sinks: [{ name: 'out', from: 'f', console: {} }],
});

describe('registry field types', () => {
  it('maps each format as its codec decodes', () => {
    expect(registryFieldTypes('avro', AVRO)).toEqual({
      user: 'string',
      price: 'double',
      n: 'int',
      ok: 'bool',
      tags: 'list',
      attrs: 'map',
      kind: 'string',
      note: 'dyn',
    });
    expect(
      registryFieldTypes(
        'protobuf',
        'syntax = "proto3"; message M { string a = 1; int64 b = 2; repeated int32 c = 3; map<string,int32> d = 4; M e = 5; optional bool f = 6; bool g = 7; uint64 h = 8; fixed32 i = 9; sint32 j = 10; float k = 11; }',
      ),
    ).toEqual({
      a: 'string',
      b: 'int',
      c: 'list',
      d: 'map',
      e: 'dyn',
      f: 'dyn',
      g: 'bool',
      h: 'uint',
      i: 'uint',
      j: 'int',
      k: 'double',
    });
    expect(
      registryFieldTypes(
        'json-schema',
        JSON.stringify({
          type: 'object',
          properties: {
            a: { type: 'string' },
            b: { type: 'integer' },
            c: { type: 'string' },
            d: { type: ['string', 'null'] },
          },
          required: ['a', 'b', 'd'],
        }),
      ),
    ).toEqual({ a: 'string', b: 'int', c: 'dyn', d: 'dyn' });
    expect(() => registryFieldTypes('avro', '"string"')).toThrow(/expected an Avro record/);
  });

  it('validation checks expressions against an inline reader schema, naming the path', () => {
    expect(problems(job('avro', AVRO, 'price > 10.0 && user != "bot"'))).toBe('');
    // A long is a CEL int: integer arithmetic checks, a string compared with it does not.
    expect(problems(job('avro', AVRO, 'n % 2 == 0'))).toBe('');
    expect(problems(job('avro', AVRO, 'n == "x"'))).toMatch(/graph\.steps\[0\]\.filter/);
    expect(problems(job('avro', AVRO, 'country == "de"'))).toMatch(/graph\.steps\[0\]\.filter.*country/);
    expect(problems(job('avro', AVRO, 'user > 3.0'))).toMatch(/graph\.steps\[0\]\.filter/);
    expect(problems(job('avro', '{"type":"nope"}', 'true'))).toMatch(
      /graph\.sources\[0\]\.kafka\.registry\.schema\.inline: not a valid Avro schema/,
    );
  });
});
