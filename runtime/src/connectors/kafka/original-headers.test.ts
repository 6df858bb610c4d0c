import { describe, expect, it } from 'vitest';
import { deadLetterHeaders, headerList } from './original-headers.ts';

describe('original headers on a dead letter', () => {
  it('keeps the original headers first, as read, then ours; a clash keeps both, ours last', () => {
    const original = {
      trace: Buffer.from([0, 255]),
      'tributary.error.reason': Buffer.from('from an earlier job'),
      tag: [Buffer.from('a'), null, 'c'],
    };
    const h = deadLetterHeaders(original, { 'tributary.error.reason': 'timestamp', 'tributary.source.offset': '7' });
    expect(Object.keys(h)).toEqual(['trace', 'tributary.error.reason', 'tag', 'tributary.source.offset']);
    expect(h['trace']).toEqual(Buffer.from([0, 255]));
    expect(h['tributary.error.reason']).toEqual([Buffer.from('from an earlier job'), 'timestamp']);
    // A null value goes out empty (kafkajs cannot send a null header value).
    expect(h['tag']).toEqual([Buffer.from('a'), Buffer.alloc(0), Buffer.from('c')]);
    expect(h['tributary.source.offset']).toBe('7');
  });

  it('a record without headers gets ours only', () => {
    expect(deadLetterHeaders(undefined, { 'tributary.error.reason': 'parse' })).toEqual({
      'tributary.error.reason': 'parse',
    });
    expect(headerList({})).toEqual([]);
  });
});
