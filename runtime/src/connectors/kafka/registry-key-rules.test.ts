import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
const source = (kafka: object, steps: object[] = []) => ({
  sources: [{ name: 's', kafka: { brokers: 'b', topic: 't', ...kafka } }],
  steps,
  sinks: [{ name: 'o', from: steps.length > 0 ? 'f' : 's', console: {} }],
});
const sink = (kafka: object) => ({
  sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
  sinks: [{ name: 'o', from: 's', kafka: { brokers: 'b', topic: 't', ...kafka } }],
});
const url = 'http://127.0.0.1:1/apis/ccompat/v7';
const value = '{"type":"record","name":"Click","namespace":"it","fields":[{"name":"n","type":"int"}]}';
const userKey = '{"type":"record","name":"UserKey","namespace":"it","fields":[{"name":"user","type":"string"}]}';
const inline = (text: string) => ({ inline: text });

describe('kafka registry key config rules', () => {
  it('accepts registry keys on a source and a sink', () => {
    expect(messages(source({ format: 'avro', keyFormat: 'avro', registry: { url } }))).toEqual([]);
    expect(
      messages(
        source({
          format: 'protobuf',
          keyFormat: 'json-schema',
          keyField: 'k',
          registry: { url, keySchema: { version: 'latest' } },
        }),
      ),
    ).toEqual([]);
    expect(
      messages(
        sink({
          format: 'avro',
          keyFormat: 'avro',
          key: "{'user': 'u'}",
          registry: { url, schema: inline(value), keySchema: inline(userKey), subjectStrategy: 'record' },
        }),
      ),
    ).toEqual([]);
    expect(
      messages(
        sink({
          format: 'avro',
          keyFormat: 'protobuf',
          key: "{'id': 'x'}",
          registry: { url, schema: { version: 1 }, keySchema: { version: 2 }, keyMessageName: 'K' },
        }),
      ),
    ).toEqual([]);
  });

  it('names every bad key option by its path', () => {
    expect(messages(source({ format: 'avro', keyFormat: 'xml', registry: { url } }))).toEqual([
      'graph.sources[0].kafka.keyFormat: expected one of avro, protobuf, json-schema, got "xml"',
    ]);
    expect(messages(source({ keyFormat: 'avro' }))).toEqual([
      'graph.sources[0].kafka.keyFormat: only with a registry value format (avro, protobuf, json-schema); format is "json"',
    ]);
    expect(
      messages(
        source({
          format: 'avro',
          keyFormat: 'avro',
          keyField: '',
          registry: { url, keySchema: { version: 0 }, keyMessageName: 'K' },
        }),
      ),
    ).toEqual([
      'graph.sources[0].kafka.registry.keySchema.version: expected an integer ≥ 1 or "latest", got 0',
      'graph.sources[0].kafka.keyField: expected a non-empty string, got ""',
      'graph.sources[0].kafka.registry.keyMessageName: only on a sink (it applies to writing)',
    ]);
    expect(messages(source({ format: 'avro', keyField: 'k', registry: { url, keySchema: inline(userKey) } }))).toEqual([
      'graph.sources[0].kafka.keyField: only with keyFormat',
      'graph.sources[0].kafka.registry.keySchema: only with keyFormat',
    ]);
    expect(messages(sink({ format: 'avro', keyFormat: 'avro', registry: { url, schema: inline(value) } }))).toEqual([
      'graph.sinks[0].kafka.registry.keySchema: required on a sink with keyFormat: the schema keys are written with',
      'graph.sinks[0].kafka.key: required with keyFormat: the expression whose value is the key',
    ]);
    expect(
      messages(
        sink({
          format: 'avro',
          keyFormat: 'avro',
          key: 'a',
          registry: {
            url,
            subjectStrategy: 'topic-record',
            schema: inline(value),
            keySchema: { version: 'latest' },
            keyMessageName: 'K',
          },
        }),
      ),
    ).toEqual([
      'graph.sinks[0].kafka.registry.keyMessageName: only with keyFormat protobuf',
      'graph.sinks[0].kafka.registry.keySchema: subjectStrategy topic-record names the subject after the schema: give it inline',
    ]);
    expect(messages(sink({ format: 'avro', registry: { url, schema: inline(value), keyMessageName: 'K' } }))).toEqual([
      'graph.sinks[0].kafka.registry.keyMessageName: only with keyFormat',
    ]);
    expect(messages(sink({ format: 'string', keyFormat: 'avro', key: 'a' }))).toEqual([
      'graph.sinks[0].kafka.keyFormat: only with a registry value format (avro, protobuf, json-schema); format is "string"',
    ]);
  });

  it('adds the key field as dyn, checks an inline key schema, and refuses a value schema that has the field', () => {
    const typed = (keySchema: object | undefined, filter: string, keyField?: string) =>
      messages(
        source(
          {
            format: 'avro',
            keyFormat: 'avro',
            ...(keyField ? { keyField } : {}),
            registry: { url, schema: inline(value), ...(keySchema ? { keySchema } : {}) },
          },
          [{ name: 'f', from: 's', filter }],
        ),
      );
    // dyn: a message may have no key, so null is as valid as the schema's record.
    expect(typed(inline(userKey), "key == null || key.user == 'ann' && n > 1")).toEqual([]);
    expect(typed(inline('"string"'), "k == 'x'", 'k')).toEqual([]);
    expect(typed(inline(userKey), "key == 'x' && m > 1")).toEqual([
      'graph.steps[0].filter: invalid expression "key == \'x\' && m > 1": Unknown variable: m',
    ]);
    expect(typed(inline(userKey), "other == 'x'", 'k')[0]).toMatch(/^graph\.steps\[0\]\.filter: .*other/);
    expect(typed(inline('{"type":"nope"}'), 'true')).toEqual([
      'graph.sources[0].kafka.registry.keySchema.inline: not a valid Avro schema: unknown type: "nope"',
    ]);
    expect(
      messages(
        source({ format: 'avro', keyFormat: 'protobuf', registry: { url, keySchema: inline('syntax = "proto3";') } }),
      ),
    ).toEqual(['graph.sources[0].kafka.registry.keySchema.inline: the Protobuf schema has no message']);
    expect(typed(inline(userKey), 'true', 'n')).toEqual([
      'graph.sources[0].kafka.keyField: the value schema already has a field "n": the key would hide it; name the key\'s field otherwise',
    ]);
  });
});
