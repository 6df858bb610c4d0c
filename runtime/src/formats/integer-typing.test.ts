// A typed format's integers are CEL integers, from the decoded record to the expression's result:
// an Avro long, a Protobuf int64 or uint64, a JSON Schema integer decode to BigInt, so `k % 2`
// (int % int) evaluates where a double would have no `%`, with or without the schema's field
// types, and a value past 2^53 keeps every digit.
import type protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { jsonText } from '../core/json-text.ts';
import { compileExpr } from '../expr/cel.ts';
import { registryFieldTypes } from './field-types.ts';
import { integersOf, parseKeepingIntegers } from './json-schema/json-schema-integers.ts';
import { parseProto } from './protobuf/protobuf-schema.ts';
import { messageToRecord } from './protobuf/protobuf-values.ts';

const PROTO = 'syntax = "proto3"; message M { int64 k = 1; uint64 u = 2; int32 i = 3; double d = 4; }';

function decodeProto(obj: Record<string, unknown>): Record<string, unknown> {
  const m = parseProto(PROTO, 'test').messages[0] as protobuf.Type;
  return messageToRecord(m, m.decode(m.encode(m.fromObject(obj)).finish()));
}

describe('integers of typed formats', () => {
  it('Protobuf int64 and uint64 are CEL int and uint, typed or not, exact past 2^53', () => {
    const rec = decodeProto({ k: '9007199254740993', u: '18446744073709551615', i: 4, d: 4 });
    expect(rec).toEqual({ k: 9007199254740993n, u: 18446744073709551615n, i: 4n, d: 4 });
    const types = registryFieldTypes('protobuf', PROTO);
    expect(types).toEqual({ k: 'int', u: 'uint', i: 'int', d: 'double' });
    for (const fields of [types, undefined]) {
      expect(compileExpr('k % 2 == 1', fields).evaluate(rec)).toBe(true);
      expect(compileExpr('i % 2 == 0', fields).evaluate(rec)).toBe(true);
      expect(compileExpr('k + 1', fields).evaluate(rec)).toBe(9007199254740994n);
    }
    // With the schema's types the unsigned field is a CEL uint: uint arithmetic, its result a BigInt again.
    expect(compileExpr('u % 2u == 1u', types).evaluate(rec)).toBe(true);
    expect(compileExpr('u - 1u', types).evaluate(rec)).toBe(18446744073709551614n);
    expect(compileExpr('u', types).type).toBe('uint');
    expect(jsonText({ k: rec['k'], u: rec['u'] })).toBe('{"k":9007199254740993,"u":18446744073709551615}');
  });

  it('JSON Schema integers are CEL ints with every digit the payload wrote; numbers stay doubles', () => {
    const schema = {
      type: 'object',
      properties: {
        k: { type: 'integer' },
        price: { type: 'number' },
        lines: { type: 'array', items: { $ref: '#/$defs/line' } },
        maybe: { type: ['integer', 'null'] },
      },
      $defs: { line: { type: 'object', properties: { qty: { type: 'integer' } } } },
      required: ['k', 'price'],
    };
    const { value, exact } = parseKeepingIntegers(
      '{"k": 9007199254740993, "price": 4, "lines": [{"qty": 2}], "maybe": 6, "free": 8}',
    );
    const rec = integersOf(schema, value, exact) as Record<string, unknown>;
    expect(rec).toEqual({ k: 9007199254740993n, price: 4, lines: [{ qty: 2n }], maybe: 6n, free: 8 });
    const types = registryFieldTypes('json-schema', JSON.stringify(schema));
    expect(types['k']).toBe('int');
    expect(compileExpr('k % 2 == 1', types).evaluate(rec)).toBe(true);
    expect(compileExpr('maybe % 2 == 0', undefined).evaluate(rec)).toBe(true);
    expect(() => compileExpr('price % 2 == 0', undefined).evaluate(rec)).toThrow(/no such overload/);
    expect(jsonText(rec)).toBe('{"k":9007199254740993,"price":4,"lines":[{"qty":2}],"maybe":6,"free":8}');
  });

  it('a map keeps CEL integers as integers for the steps after it', () => {
    const rec = decodeProto({ k: '7', i: 3 });
    const e = compileExpr('{"half": k / 2, "big": k * 1000000000000}', undefined);
    expect(e.evaluate(rec)).toEqual({ half: 3n, big: 7000000000000n });
  });
});
