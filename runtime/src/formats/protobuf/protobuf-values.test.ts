import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { indexesOf, messageAt, parseProto } from './protobuf-schema.ts';
import { messageToRecord, recordProblems } from './protobuf-values.ts';

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
    for (let k = 0; k < 200; k++) {
      const rec = {
        id: `o${int(1e6)}`,
        cents: int(2 ** 53) * (random() < 0.5 ? -1 : 1),
        raw: Buffer.from(Array.from({ length: int(8) }, () => int(256))).toString('base64'),
        kind: random() < 0.5 ? 'VIEW' : 'BUY',
        lines: Array.from({ length: int(3) }, () => ({ sku: `s${int(100)}`, qty: int(2 ** 32) })),
        totals: Object.fromEntries(Array.from({ length: int(3) }, (_, i) => [`k${i}`, int(1e12)])),
        gift: random() < 0.5,
        rate: random() * 100,
      };
      expect(recordProblems(order, rec)).toEqual([]);
      const back = messageToRecord(order, order.decode(order.encode(order.fromObject(rec)).finish()));
      expect(back).toEqual(rec);
    }
  });

  it('names the fields a record gets wrong, and refuses a 64-bit value beyond ±2^53 on decode', () => {
    const order = messageAt(file, [0], 't');
    expect(recordProblems(order, { cents: 'x', kind: 'SELL', lines: [{ qty: 1.5 }], gift: 1 })).toEqual([
      'Order.cents: not an integer',
      'Order.kind: not a symbol of Kind',
      'Order.lines[0].qty: not an integer',
      'Order.gift: not a boolean',
    ]);
    const big = order.encode(order.fromObject({ cents: '9007199254740993' })).finish();
    let code: string | undefined;
    try {
      messageToRecord(order, order.decode(big));
    } catch (e) {
      code = isTributaryError(e) ? e.code : String(e);
    }
    expect(code).toBe('TRIB_FORMAT_DECODE');
  });
});
