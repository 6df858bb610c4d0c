import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { compileExpr } from '../../expr/cel.ts';
import { appendMessages, describeSendFailure, splitForSend } from './record-messages.ts';

const msg = (i: number, bytes: number): Message => ({ key: `k${i}`, value: 'x'.repeat(bytes) });

describe('splitForSend', () => {
  it('keeps order and splits by count and by bytes; a single oversized message goes alone', () => {
    const msgs = [msg(0, 100), msg(1, 100), msg(2, 100), msg(3, 1000), msg(4, 100), msg(5, 5000), msg(6, 100)];
    const chunks = splitForSend(msgs, 3, 1200);
    expect(chunks.flat()).toEqual(msgs);
    expect(chunks.map((c) => c.map((m) => m.key))).toEqual([['k0', 'k1', 'k2'], ['k3', 'k4'], ['k5'], ['k6']]);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(3);
  });

  it('30,000 results of ~130 bytes make sends under the default budget', () => {
    const chunks = splitForSend(
      Array.from({ length: 30_000 }, (_, i) => msg(i, 110)),
      2000,
    );
    expect(chunks.flat()).toHaveLength(30_000);
    for (const c of chunks)
      expect(
        c.reduce((a, m) => a + Buffer.byteLength(m.value as string) + Buffer.byteLength(m.key as string), 0),
      ).toBeLessThan(512 * 1024);
  });

  it('nothing to send: no sends', () => {
    expect(splitForSend([], 10)).toEqual([]);
  });
});

describe('appendMessages', () => {
  it('keys each message by the key expression; a key that fails there throws (never a null key)', () => {
    const key = compileExpr('user.name');
    const recs = [
      { user: { name: 'ana' }, n: 1 },
      { user: { name: 7 }, n: 2 },
    ];
    const out: Message[] = [];
    appendMessages({ recs, ts: [10, 20], keys: [], kgs: [], n: 2 }, out, 'json', key);
    expect(out).toEqual([
      { key: 'ana', value: JSON.stringify(recs[0]), timestamp: '10' },
      { key: '7', value: JSON.stringify(recs[1]), timestamp: '20' },
    ]);
    const bad = [{ user: 'not-a-map', n: 3 }];
    expect(() => appendMessages({ recs: bad, ts: [30], keys: [], kgs: [], n: 1 }, [], 'json', key)).toThrow(
      expect.objectContaining({ code: 'TRIB_INVARIANT', message: expect.stringContaining('key "user.name"') }),
    );
  });

  it('with keyBytes (a registry keyFormat) the key is the bytes it makes, null for none, not the expression', () => {
    const recs = [{ user: 'ana' }, { user: null }];
    const out: Message[] = [];
    const keyBytes = (rec: Record<string, unknown>) =>
      rec['user'] === null ? null : Buffer.from([0, 1, rec['user']].join());
    appendMessages({ recs, ts: [1, 2], keys: [], kgs: [], n: 2 }, out, 'json', compileExpr('user'), keyBytes);
    expect(out.map((m) => m.key)).toEqual([Buffer.from('0,1,ana'), null]);
  });
});

describe('describeSendFailure', () => {
  it('names the largest record of a send the broker refused as too large; passes other failures through', () => {
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size'), {
      type: 'MESSAGE_TOO_LARGE',
    });
    const chunk = [msg(0, 10), { key: null, value: 'y'.repeat(300) }, msg(2, 20)];
    const e = describeSendFailure(tooLarge, chunk);
    expect(e.message).toMatch(
      /^The request included a message larger than the max message size: the send's largest record is 300 bytes \(no key, value y{80}…\) of 3 record\(s\); raise the topic's max.message.bytes/,
    );
    expect(e.cause).toBe(tooLarge);
    const other = Object.assign(new Error('broker down'), { type: 'NETWORK_EXCEPTION' });
    expect(describeSendFailure(other, chunk)).toBe(other);
  });
});
