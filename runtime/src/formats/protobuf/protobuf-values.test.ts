import { describe, expect, it } from 'vitest';
import { indexesOf, messageAt, parseProto } from './protobuf-schema.ts';
import { messageObject, messageToRecord, recordProblems } from './protobuf-values.ts';

const proto = `
syntax = "proto3";
package it.shop;
enum Ignored { X = 0; }
message Order {
  string id = 1;
  int64 cents = 2;
  bytes raw = 3;
  enum Kind { VIEW = 0; BUY = 1; }
  Kind kind = 4;
  message Line { string sku = 1; uint32 qty = 2; }
  repeated Line lines = 5;
  map<string, int64> totals = 6;
  bool gift = 7;
  double rate = 8;
}
message Refund { string order_id = 1; sint64 delta = 2; }
`;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('Protobuf schema and values', () => {
  const file = parseProto(proto, 'test');

  it('finds messages by Confluent message indexes: top-level messages, then nested ones, enums not counted', () => {
    expect(messageAt(file, [0], 't').fullName).toBe('.it.shop.Order');
    expect(messageAt(file, [1], 't').fullName).toBe('.it.shop.Refund');
    expect(messageAt(file, [0, 0], 't').fullName).toBe('.it.shop.Order.Line');
    expect(indexesOf(file, 'it.shop.Order.Line', 't').indexes).toEqual([0, 0]);
    expect(indexesOf(file, 'Refund', 't').indexes).toEqual([1]);
    expect(indexesOf(file, undefined, 't').indexes).toEqual([0]);
  });

  it('round-trips random records through the wire to equal records (property)', () => {
    const order = messageAt(file, [0], 't');
    const random = rng(3);
    const int = (n: number) => Math.floor(random() * n);
    // Any int64, past 2^53 too: the high and low halves drawn apart.
    const int64 = () => BigInt.asIntN(64, (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32)));
    for (let k = 0; k < 200; k++) {
      const rec = {
        id: `o${int(1e6)}`,
        cents: int64(),
        raw: Buffer.from(Array.from({ length: int(8) }, () => int(256))).toString('base64'),
        kind: random() < 0.5 ? 'VIEW' : 'BUY',
        lines: Array.from({ length: int(3) }, () => ({ sku: `s${int(100)}`, qty: BigInt(int(2 ** 32)) })),
        totals: Object.fromEntries(Array.from({ length: int(3) }, (_, i) => [`k${i}`, int64()])),
        gift: random() < 0.5,
        rate: random() * 100,
      };
      expect(recordProblems(order, rec)).toEqual([]);
      const back = messageToRecord(
        order,
        order.decode(order.encode(order.fromObject(messageObject(order, rec))).finish()),
      );
      expect(back).toEqual(rec);
    }
  });

  it('decodes every integer as a BigInt, exact past 2^53, and a double as a number', () => {
    const order = messageAt(file, [0], 't');
    const refund = messageAt(file, [1], 't');
    const msg = order.fromObject({ cents: '9007199254740993', lines: [{ qty: 4294967295 }], rate: 2 });
    const rec = messageToRecord(order, order.decode(order.encode(msg).finish()));
    expect(rec['cents']).toBe(9007199254740993n);
    expect((rec['lines'] as Record<string, unknown>[])[0]!['qty']).toBe(4294967295n);
    expect(rec['rate']).toBe(2);
    const neg = refund.fromObject({ delta: '-9223372036854775808' });
    expect(messageToRecord(refund, refund.decode(refund.encode(neg).finish()))['delta']).toBe(-(2n ** 63n));
  });

  it("names the fields a record gets wrong, and integers beyond their field's bits", () => {
    const order = messageAt(file, [0], 't');
    expect(recordProblems(order, { cents: 'x', kind: 'SELL', lines: [{ qty: 1.5 }], gift: 1 })).toEqual([
      'Order.cents: not an integer',
      'Order.kind: not a symbol of Kind',
      'Order.lines[0].qty: not an integer',
      'Order.gift: not a boolean',
    ]);
    expect(recordProblems(order, { cents: 2n ** 63n, lines: [{ qty: -1n }] })).toEqual([
      'Order.cents: beyond 64 bits',
      'Order.lines[0].qty: beyond 32 bits',
    ]);
  });
});
