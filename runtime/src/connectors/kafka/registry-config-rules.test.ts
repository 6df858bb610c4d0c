import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
const source = (kafka: object) => ({
  sources: [{ name: 's', kafka: { brokers: 'b', topic: 't', ...kafka } }],
  sinks: [{ name: 'o', from: 's', console: {} }],
});
const sink = (kafka: object) => ({
  sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
  sinks: [{ name: 'o', from: 's', kafka: { brokers: 'b', topic: 't', ...kafka } }],
});
const url = 'http://127.0.0.1:1/apis/ccompat/v7';
const avro = '{"type":"record","name":"User","namespace":"it","fields":[{"name":"a","type":"int"}]}';

describe('kafka registry config rules', () => {
  it('accepts the registry formats with a registry block', () => {
    expect(messages(source({ format: 'avro', registry: { url } }))).toEqual([]);
    expect(messages(source({ format: 'protobuf', registry: { url, schema: { version: 'latest' } } }))).toEqual([]);
    expect(
      messages(sink({ format: 'json-schema', registry: { url, schema: { version: 3 }, autoRegister: false } })),
    ).toEqual([]);
    expect(
      messages(
        sink({
          format: 'avro',
          registry: {
            url: 'https://r:8081',
            subjectStrategy: 'topic-record',
            schema: { inline: avro },
            caFile: '/etc/ca.pem',
            basicAuth: { usernameEnv: 'REG_USER', passwordEnv: 'REG_PASSWORD' },
          },
        }),
      ),
    ).toEqual([]);
  });

  it('takes an inline schema with references, and leaves its fields to the CLI (they need the registry)', () => {
    const proto = 'syntax = "proto3"; import "it/a.proto"; message M { it.A a = 1; }';
    const references = [{ name: 'it/a.proto', subject: 'it/a.proto', version: 3 }];
    expect(messages(sink({ format: 'protobuf', registry: { url, schema: { inline: proto, references } } }))).toEqual(
      [],
    );
    // Typed without references, the import would not resolve: with them, validation does not type the source.
    const g = source({ format: 'protobuf', registry: { url, schema: { inline: proto, references } } });
    expect(messages(g)).toEqual([]);
    expect(messages(source({ format: 'protobuf', registry: { url, schema: { inline: proto } } }))).toEqual([
      expect.stringContaining('imports "it/a.proto", which is neither among its references nor a well-known type'),
    ]);
    // A key schema alike: with references it is read at open, without them its import is an error at its path.
    const key = (keySchema: object) => source({ format: 'avro', keyFormat: 'protobuf', registry: { url, keySchema } });
    expect(messages(key({ inline: proto, references }))).toEqual([]);
    expect(messages(key({ inline: proto }))).toEqual([
      expect.stringMatching(/^graph\.sources\[0\]\.kafka\.registry\.keySchema\.inline: .*imports "it\/a\.proto"/),
    ]);
  });

  it('requires registry with a registry format and refuses it with the others, naming the field', () => {
    expect(messages(source({ format: 'avro' }))).toEqual([
      "graph.sources[0].kafka.registry: required with format avro: the schema registry's url and schema",
    ]);
    expect(messages(sink({ format: 'protobuf' }))).toEqual([
      "graph.sinks[0].kafka.registry: required with format protobuf: the schema registry's url and schema",
    ]);
    expect(messages(source({ registry: { url } }))).toEqual([
      'graph.sources[0].kafka.registry: only with format avro, protobuf, json-schema; format is "json"',
    ]);
    expect(messages(sink({ format: 'string', registry: { url } }))).toEqual([
      'graph.sinks[0].kafka.registry: only with format avro, protobuf, json-schema; format is "string"',
    ]);
    expect(messages(sink({ format: 'xml' }))).toEqual([
      'graph.sinks[0].kafka.format: expected one of json, string, avro, protobuf, json-schema, got "xml"',
    ]);
  });

  it('names every bad value inside the block', () => {
    expect(
      messages(
        source({
          format: 'avro',
          registry: {
            url: 'ftp://x',
            subjectStrategy: 'record',
            schema: { inline: avro, version: 1 },
            autoRegister: true,
            basicAuth: { usernameEnv: 'not a name' },
            extra: 1,
          },
        }),
      ),
    ).toEqual([
      'graph.sources[0].kafka.registry.extra: unknown field; expected one of url, subjectStrategy, schema, keySchema, autoRegister, messageName, keyMessageName, caFile, basicAuth',
      'graph.sources[0].kafka.registry.url: expected an http(s) URL, got "ftp://x"',
      'graph.sources[0].kafka.registry.schema: expected exactly one of inline, version',
      'graph.sources[0].kafka.registry.autoRegister: only on a sink (it applies to writing)',
      'graph.sources[0].kafka.registry.subjectStrategy: only topic on a source (a reader schema by version is read from <topic>-value)',
      'graph.sources[0].kafka.registry.basicAuth.usernameEnv: expected an environment variable name, got "not a name"',
      'graph.sources[0].kafka.registry.basicAuth.passwordEnv: expected a non-empty string, got nothing',
    ]);
    expect(
      messages(
        sink({
          format: 'avro',
          registry: { url: 'http://u:p@r:1', schema: { version: 0 }, messageName: 'M', autoRegister: 'yes' },
        }),
      ),
    ).toEqual([
      'graph.sinks[0].kafka.registry.url: credentials in the URL are refused; use basicAuth',
      'graph.sinks[0].kafka.registry.schema.version: expected an integer ≥ 1 or "latest", got 0',
      'graph.sinks[0].kafka.registry.autoRegister: expected true or false, got "yes"',
      'graph.sinks[0].kafka.registry.messageName: only with format protobuf',
    ]);
    expect(
      messages(
        sink({
          format: 'protobuf',
          registry: {
            url,
            schema: {
              inline: 'syntax = "proto3"; import "it/a.proto"; message M { A a = 1; }',
              references: [{ name: 'it/a.proto', subject: 'it/a.proto', version: 1 }, { name: 'it/a.proto' }, 'x'],
            },
          },
        }),
      ),
    ).toEqual([
      'graph.sinks[0].kafka.registry.schema.references[1].subject: expected a non-empty string, got nothing',
      'graph.sinks[0].kafka.registry.schema.references[1].version: expected an integer ≥ 1, got nothing',
      'graph.sinks[0].kafka.registry.schema.references[1].name: "it/a.proto" is named twice',
      'graph.sinks[0].kafka.registry.schema.references[2]: expected {name, subject, version}, got "x"',
    ]);
    expect(messages(source({ format: 'avro', registry: { url, schema: { version: 2, references: [] } } }))).toEqual([
      "graph.sources[0].kafka.registry.schema.references: only with inline (a version's references come from the registry)",
    ]);
    expect(messages(sink({ format: 'avro', registry: { url } }))).toEqual([
      'graph.sinks[0].kafka.registry.schema: required on a sink: the schema records are written with',
    ]);
    expect(
      messages(sink({ format: 'avro', registry: { url, subjectStrategy: 'record', schema: { version: 'latest' } } })),
    ).toEqual([
      'graph.sinks[0].kafka.registry.subjectStrategy: record names the subject after the schema: give the schema inline',
    ]);
  });
});
