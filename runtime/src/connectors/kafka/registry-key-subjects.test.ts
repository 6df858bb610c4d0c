// The subjects a connector's key and value schemas live under, as Confluent's serializers name
// them: `<topic>-key` by default, and with a record-named strategy the inline key schema's full
// name (Avro namespace and name, the Protobuf message). No registry call: the codecs are only built.
import { describe, expect, it } from 'vitest';
import type { KafkaSinkSpec } from '../../graph/spec.ts';
import { registryCodec } from './registry-codecs.ts';

const url = 'http://127.0.0.1:1/apis/ccompat/v7';
const value = '{"type":"record","name":"Click","namespace":"it","fields":[{"name":"n","type":"int"}]}';
const avroKey = '{"type":"record","name":"UserKey","namespace":"it.keys","fields":[{"name":"u","type":"string"}]}';
const protoKey = 'syntax = "proto3";\npackage it.keys;\nmessage A { string a = 1; }\nmessage B { string b = 1; }\n';

function subjects(o: Partial<KafkaSinkSpec> & { strategy?: 'topic' | 'record' | 'topic-record' }): string[] {
  const spec: KafkaSinkSpec = {
    brokers: 'b',
    topic: 'clicks',
    format: 'avro',
    keyFormat: 'avro',
    key: 'k',
    ...o,
    registry: {
      url,
      schema: { inline: value },
      keySchema: { inline: avroKey },
      ...(o.strategy ? { subjectStrategy: o.strategy } : {}),
      ...o.registry,
    },
  };
  const rc = registryCodec(spec, 'sink "s"', 'sink');
  void rc?.client.close();
  return [rc?.subject ?? '-', rc?.key?.subject ?? '-'];
}

describe('registry key subjects', () => {
  it('names the key subject <topic>-key, or after the inline key schema with a record-named strategy', () => {
    expect(subjects({})).toEqual(['clicks-value', 'clicks-key']);
    expect(subjects({ strategy: 'record' })).toEqual(['it.Click', 'it.keys.UserKey']);
    expect(subjects({ strategy: 'topic-record' })).toEqual(['clicks-it.Click', 'clicks-it.keys.UserKey']);
    expect(
      subjects({
        keyFormat: 'protobuf',
        strategy: 'topic-record',
        registry: { url, schema: { inline: value }, keySchema: { inline: protoKey }, keyMessageName: 'B' },
      }),
    ).toEqual(['clicks-it.Click', 'clicks-it.keys.B']);
    expect(subjects({ keyFormat: undefined })).toEqual(['clicks-value', '-']);
  });

  it('names the key schema in the error of an inline key schema it cannot name a subject after', () => {
    expect(() =>
      subjects({
        keyFormat: 'protobuf',
        strategy: 'record',
        registry: { url, schema: { inline: value }, keySchema: { inline: protoKey }, keyMessageName: 'Nope' },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'TRIB_FORMAT_SCHEMA',
        message: expect.stringMatching(/^sink "s": registry\.keySchema: /),
      }),
    );
  });
});
