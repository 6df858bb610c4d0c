// A Protobuf schema with the files it imports: user files from its references (by import path),
// the well-known types from protobufjs' bundled definitions, in .proto text or as the base64
// FileDescriptorProto Confluent's serializers register. Against the real registry and Confluent's
// own serializer: registry-references-confluent.int.test.ts.
import descriptor from 'protobufjs/ext/descriptor.js';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { registryFieldTypes } from '../field-types.ts';
import { declaredMessage } from './protobuf-files.ts';
import { indexesOf, messageAt, parseProto } from './protobuf-schema.ts';
import { messageObject, messageToRecord, recordProblems } from './protobuf-values.ts';

const COMMON = `syntax = "proto3";
package it.shop;
import "it/money.proto";
message Customer { string name = 1; Money balance = 2; }
`;
const MONEY = `syntax = "proto3";
package it.shop;
message Money { string currency = 1; int64 cents = 2; }
`;
/** Same package as the imports: their messages must not count in its message indexes. */
const ORDER = `syntax = "proto3";
package it.shop;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "it/common.proto";
message Order {
  string id = 1;
  google.protobuf.Timestamp at = 2;
  Customer customer = 3;
  google.protobuf.StringValue note = 4;
  message Line { Money price = 1; }
  repeated Line lines = 5;
}
message Refund { string order_id = 1; Money amount = 2; }
`;
const IMPORTS = new Map([
  ['it/common.proto', COMMON],
  ['it/money.proto', MONEY],
]);

function failure(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('no error');
}

describe('parseProto with imports', () => {
  it('resolves user imports transitively and well-known types; message indexes count the own file only', () => {
    const file = parseProto(ORDER, 'schema id 4', IMPORTS);
    expect(file.messages.map((m) => m.fullName)).toEqual(['.it.shop.Order', '.it.shop.Refund']);
    expect(messageAt(file, [1], 't').fullName).toBe('.it.shop.Refund');
    expect(messageAt(file, [0, 0], 't').fullName).toBe('.it.shop.Order.Line');
    expect(indexesOf(file, 'it.shop.Refund', 't').indexes).toEqual([1]);
  });

  it('maps Timestamp, wrappers and imported messages to records as their fields, both ways', () => {
    const order = parseProto(ORDER, 'schema id 4', IMPORTS).messages[0]!;
    const rec = {
      id: 'o1',
      at: { seconds: 1_767_225_600n, nanos: 500_000_000n },
      customer: { name: 'ada', balance: { currency: 'EUR', cents: 2n ** 40n } },
      note: { value: 'gift' },
      lines: [{ price: { currency: 'EUR', cents: 250n } }],
    };
    expect(recordProblems(order, rec)).toEqual([]);
    const back = messageToRecord(
      order,
      order.decode(order.encode(order.fromObject(messageObject(order, rec))).finish()),
    );
    expect(back).toEqual(rec);
    expect(recordProblems(order, { at: { seconds: 'soon' }, customer: { balance: { cents: 1.5 } } })).toEqual([
      'Order.at.seconds: not an integer',
      'Order.customer.balance.cents: not an integer',
    ]);
    // Unset message fields stay null, as nested messages always did.
    expect(messageToRecord(order, order.decode(order.encode(order.fromObject({ id: 'x' })).finish()))).toMatchObject({
      at: null,
      customer: null,
      note: null,
    });
  });

  it('maps the other well-known types as their fields too, under their .proto names (struct.proto included)', () => {
    const text = `syntax = "proto3";
      import "google/protobuf/struct.proto"; import "google/protobuf/any.proto"; import "google/protobuf/empty.proto";
      import "google/protobuf/field_mask.proto"; import "google/protobuf/wrappers.proto";
      message M { google.protobuf.Struct s = 1; google.protobuf.Any a = 2; google.protobuf.Empty e = 3;
                  google.protobuf.FieldMask m = 4; google.protobuf.Int64Value w = 5; }`;
    const m = parseProto(text, 'x').messages[0]!;
    const rec = {
      s: { fields: { k: { string_value: 'v' }, l: { list_value: { values: [{ bool_value: true }] } } } },
      a: { type_url: 'type.googleapis.com/it.X', value: 'AQI=' },
      e: {},
      m: { paths: ['a.b'] },
      w: { value: 5n },
    };
    expect(recordProblems(m, rec)).toEqual([]);
    expect(messageToRecord(m, m.decode(m.encode(m.fromObject(messageObject(m, rec))).finish()))).toEqual(rec);
  });

  it('types the fields of a schema with imports (an imported message is dyn: null when unset)', () => {
    // registryFieldTypes sees no references: the well-known imports alone parse.
    const wellKnownOnly = `syntax = "proto3"; import "google/protobuf/duration.proto";
      message Ride { string id = 1; google.protobuf.Duration took = 2; int64 km = 3; }`;
    expect(registryFieldTypes('protobuf', wellKnownOnly)).toEqual({ id: 'string', took: 'dyn', km: 'int' });
  });

  it('names the file and the import that is neither a reference nor a well-known type', () => {
    const own = failure(() => parseProto(ORDER, 'subject "o-value" version 3', new Map()));
    expect(own).toEqual({
      code: 'TRIB_FORMAT_SCHEMA',
      message:
        'subject "o-value" version 3 imports "it/common.proto", which is neither among its references nor a well-known type',
    });
    const deep = failure(() => parseProto(ORDER, 'schema id 4', new Map([['it/common.proto', COMMON]])));
    expect(deep.message).toBe(
      '"it/common.proto" (imported by schema id 4) imports "it/money.proto", which is neither among its references ' +
        'nor a well-known type',
    );
    const unknownGoogle = failure(() =>
      parseProto('syntax = "proto3"; import "google/protobuf/api.proto"; message A { string a = 1; }', 'x', new Map()),
    );
    expect(unknownGoogle.message).toContain('imports "google/protobuf/api.proto", which is neither');
    const broken = failure(() => parseProto(ORDER, 'schema id 4', new Map([...IMPORTS, ['it/money.proto', 'nope']])));
    expect(broken.code).toBe('TRIB_FORMAT_SCHEMA');
    expect(broken.message).toContain('"it/money.proto" (imported by schema id 4) does not parse');
    const unresolved = failure(() =>
      parseProto(ORDER, 'schema id 4', new Map([...IMPORTS, ['it/money.proto', 'syntax = "proto3"; package x;']])),
    );
    expect(unresolved.code).toBe('TRIB_FORMAT_SCHEMA');
    expect(unresolved.message).toMatch(/^schema id 4 is not a usable Protobuf schema: .*Money/);
  });

  it('names a top-level message from the file alone, before its imports are fetched (record-named subjects)', () => {
    expect(declaredMessage(ORDER, undefined)).toBe('it.shop.Order');
    expect(declaredMessage(ORDER, 'Refund')).toBe('it.shop.Refund');
    expect(declaredMessage(ORDER, '.it.shop.Refund')).toBe('it.shop.Refund');
    expect(declaredMessage(ORDER, 'Line')).toBeUndefined(); // nested: found by the full parse
  });

  it('reads base64 FileDescriptorProtos with dependencies, as Confluent registers them, mixed with text', () => {
    const b64 = (fd: descriptor.IFileDescriptorProto) =>
      Buffer.from(descriptor.FileDescriptorProto.encode(fd).finish()).toString('base64');
    const money = b64({
      name: 'it/money.proto',
      package: 'it.shop',
      syntax: 'proto3',
      messageType: [
        {
          name: 'Money',
          field: [
            { name: 'currency', number: 1, label: 1, type: 9 },
            { name: 'cents', number: 2, label: 1, type: 3 },
          ],
        },
      ],
    });
    const order = b64({
      name: 'order.proto',
      package: 'it.shop',
      syntax: 'proto3',
      dependency: ['google/protobuf/timestamp.proto', 'it/common.proto'],
      messageType: [
        {
          name: 'Order',
          field: [
            { name: 'id', number: 1, label: 1, type: 9 },
            { name: 'at', number: 2, label: 1, type: 11, typeName: '.google.protobuf.Timestamp' },
            { name: 'customer', number: 3, label: 1, type: 11, typeName: '.it.shop.Customer' },
          ],
        },
      ],
    });
    const file = parseProto(
      order,
      'schema id 8',
      new Map([
        ['it/common.proto', COMMON], // text, importing a descriptor
        ['it/money.proto', money],
      ]),
    );
    const type = file.messages[0]!;
    expect(file.messages.map((m) => m.fullName)).toEqual(['.it.shop.Order']);
    const rec = {
      id: 'o',
      at: { seconds: 5n, nanos: 0n },
      customer: { name: 'b', balance: { currency: 'X', cents: 3n } },
    };
    expect(messageToRecord(type, type.decode(type.encode(type.fromObject(messageObject(type, rec))).finish()))).toEqual(
      rec,
    );
  });
});
