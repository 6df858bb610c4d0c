// A Protobuf schema as registries hold it: `.proto` text, or the base64 FileDescriptorProto that
// Confluent's own ProtobufSerializer registers (and Apicurio keeps as given). The fixture is what
// confluent-kafka 2.16.1 registered for the file below, with a message it wrote.
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { parseProto } from './protobuf-schema.ts';
import { messageToRecord } from './protobuf-values.ts';

// syntax = "proto3"; package it;
// message Order { string id = 1; int64 cents = 2; repeated string tags = 3; Status status = 4;
//                 enum Status { NEW = 0; PAID = 1; } }
const REGISTERED_BY_CONFLUENT =
  'CgtvcmRlci5wcm90bxICaXQibwoFT3JkZXISCgoCaWQYASABKAkSDQoFY2VudHMYAiABKAMSDAoEdGFncxgDIAMoCRIgCgZzdGF0dXMYBCABKA4y' +
  'EC5pdC5PcmRlci5TdGF0dXMiGwoGU3RhdHVzEgcKA05FVxAAEggKBFBBSUQQAWIGcHJvdG8z';
/** Its payload for {id: "a", cents: 5, tags: ["x"], status: PAID}, after the magic byte, id and indexes. */
const WRITTEN = '0a016110051a01782001';

describe('parseProto', () => {
  it('reads the base64 FileDescriptorProto Confluent registers, as it reads .proto text', () => {
    const file = parseProto(REGISTERED_BY_CONFLUENT, 'subject orders-value');
    const order = file.messages[0]!;
    expect(order.fullName).toBe('.it.Order');
    expect(order.fieldsArray.map((f) => f.name)).toEqual(['id', 'cents', 'tags', 'status']);
    const rec = messageToRecord(order, order.decode(Buffer.from(WRITTEN, 'hex')));
    expect(rec).toEqual({ id: 'a', cents: 5n, tags: ['x'], status: 'PAID' });
  });

  it('refuses base64 that is no descriptor, naming the schema', () => {
    let caught: unknown;
    try {
      parseProto('bm90IGEgZGVzY3JpcHRvcg==', 'subject x-value version 2');
    } catch (e) {
      caught = e;
    }
    expect(isTributaryError(caught) && caught.code).toBe('TRIB_FORMAT_SCHEMA');
    expect((caught as Error).message).toContain('subject x-value version 2');
  });
});
