// A Kafka source's records carry their origin only while the job has an errorOutput (the queued
// entry itself, with its headers, on both fetch paths' record forms), and a Kafka sink writes a
// dead letter that holds its origin with the original key and headers, then ours.
import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { DEAD_LETTER_ORIGIN, type RecordOrigin } from '../../core/origin.ts';
import { compileExpr } from '../../expr/cel.ts';
import { intakeFor, originOf, takeInFetch } from './fetch-intake.ts';
import { kafkajsRecords, packedRecords, packRecords } from './fetched-records.ts';
import { PartitionOffsets } from './partition-offsets.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';
import { appendMessages } from './record-messages.ts';

const fetched = () =>
  kafkajsRecords([
    {
      offset: '7',
      key: Buffer.from('user-1'),
      value: Buffer.from('{"x":1}'),
      headers: { trace: [Buffer.from('a'), Buffer.from('b')] },
    },
    { offset: '8', key: null, value: Buffer.from('{"x":2}'), headers: { bin: Buffer.from([0x80]) } },
  ]);

function intake(records = fetched(), o: { origins?: string; deadLetters?: boolean } = { origins: 'clicks' }): Queued[] {
  const queues = new PartitionQueues();
  const offsets = new PartitionOffsets(false);
  offsets.start(2, 7n, 9n);
  takeInFetch(queues, offsets, 2, 9n, 8n, records, intakeFor('clicks-topic', o.deadLetters === true, o.origins));
  const out: Queued[] = [];
  queues.drain(10, (m) => (out.push(m), true));
  return out;
}

describe('the Kafka source intake', () => {
  it.each([
    ['slot thread', fetched],
    ['fetch thread', () => packedRecords(packRecords(fetched(), true))],
  ])('on the %s: each entry is its record origin, with its headers', (_path, records) => {
    const q = intake(records());
    const origins = q.map((m) => originOf(m));
    expect(origins[0]).toBe(q[0]);
    const view = origins.map((o) => ({
      source: o?.from.source,
      topic: o?.from.topic,
      partition: o?.partition,
      offset: o?.offset,
      key: o?.key === null ? null : Buffer.from(o?.key as Uint8Array).toString(),
      headers: o?.from.headerList(o.headers).map((h) => [h.key, Buffer.from(h.value as Uint8Array).toString('hex')]),
    }));
    expect(view).toEqual([
      {
        source: 'clicks',
        topic: 'clicks-topic',
        partition: 2,
        offset: 7n,
        key: 'user-1',
        headers: [
          ['trace', '61'],
          ['trace', '62'],
        ],
      },
      { source: 'clicks', topic: 'clicks-topic', partition: 2, offset: 8n, key: null, headers: [['bin', '80']] },
    ]);
  });

  it('keeps no origin (nor headers) without an errorOutput; a dead-letter topic keeps headers only', () => {
    for (const m of intake(fetched(), {})) {
      expect(originOf(m)).toBeUndefined();
      expect(m.headers).toBeUndefined();
    }
    for (const m of intake(fetched(), { deadLetters: true })) {
      expect(originOf(m)).toBeUndefined();
      expect(m.headers).toBeDefined();
    }
  });
});

describe('a dead letter written by a Kafka sink', () => {
  const origin = (): RecordOrigin => intake()[0] as RecordOrigin;
  const letter = (o: RecordOrigin | undefined): Record<string, unknown> => {
    const e: Record<string, unknown> = { step: 'parsed', error: 'no such key: x', code: 'TRIB_EXPR_EVAL', record: {} };
    if (o) Object.defineProperty(e, DEAD_LETTER_ORIGIN, { value: o });
    return e;
  };
  const write = (rec: Record<string, unknown>, key?: string): Message => {
    const out: Message[] = [];
    appendMessages(
      { recs: [rec], ts: [123], keys: [], kgs: [], n: 1 },
      out,
      'json',
      key ? compileExpr(key) : undefined,
    );
    return out[0] as Message;
  };

  it('has the original key and headers, then ours naming the error and the origin', () => {
    const m = write(letter(origin()));
    expect(m.key).toEqual(Buffer.from('user-1'));
    expect(m.value).toBe(JSON.stringify(letter(undefined)));
    expect(m.headers).toEqual({
      trace: [Buffer.from('a'), Buffer.from('b')],
      'tributary.error.reason': 'step',
      'tributary.error.message': 'no such key: x',
      'tributary.error.step': 'parsed',
      'tributary.error.code': 'TRIB_EXPR_EVAL',
      'tributary.source.topic': 'clicks-topic',
      'tributary.source.partition': '2',
      'tributary.source.offset': '7',
      'tributary.source.name': 'clicks',
    });
  });

  it("keeps the sink's own key expression", () => {
    expect(write(letter(origin()), 'step').key).toBe('parsed');
  });

  it('without an origin is an ordinary record', () => {
    const m = write(letter(undefined));
    expect(m.key).toBeNull();
    expect(m.headers).toBeUndefined();
  });
});
