import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { BoundedCache } from './bounded-cache.ts';
import { codeOfStatus, registryHttpError } from './registry-error.ts';
import { subjectName } from './subject.ts';
import { decodeMessageIndexes, encodeMessageIndexes, frame, unframe } from './wire.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isTributaryError(e) ? e.code : `not a TributaryError: ${String(e)}`;
  }
  return undefined;
}

describe('Confluent wire format', () => {
  it('frames magic byte 0 and the id big-endian, and unframes what it framed', () => {
    const out = frame(0x01020304, Buffer.from([9, 8]));
    expect([...out]).toEqual([0, 1, 2, 3, 4, 9, 8]);
    const random = rng(7);
    for (let k = 0; k < 200; k++) {
      const id = Math.floor(random() * 0xffff_ffff);
      const payload = Buffer.from(Array.from({ length: Math.floor(random() * 20) }, () => Math.floor(random() * 256)));
      const u = unframe(frame(id, payload));
      expect(u.schemaId).toBe(id);
      expect(Buffer.from(u.payload).equals(payload)).toBe(true);
    }
  });

  it('refuses a short message, a wrong magic byte and an id outside 4 bytes with stable codes', () => {
    expect(codeOf(() => unframe(Buffer.from([0, 0, 0, 1])))).toBe('TRIB_FORMAT_DECODE');
    expect(codeOf(() => unframe(Buffer.from('{"a":1}')))).toBe('TRIB_FORMAT_DECODE');
    expect(codeOf(() => frame(2 ** 32, Buffer.alloc(0)))).toBe('TRIB_FORMAT_ENCODE');
  });

  it('writes the Protobuf message indexes as Confluent does: [0] is one 0 byte, others zigzag varints', () => {
    expect([...encodeMessageIndexes([0])]).toEqual([0]);
    // count 2 → 4, indexes 1 → 2 and 70 → 140 (0x8c 0x01)
    expect([...encodeMessageIndexes([1, 70])]).toEqual([4, 2, 0x8c, 0x01]);
    const random = rng(11);
    for (let k = 0; k < 200; k++) {
      const idx = Array.from({ length: 1 + Math.floor(random() * 4) }, () => Math.floor(random() * 5000));
      const tail = Buffer.from([7, 7]);
      const { indexes, rest } = decodeMessageIndexes(Buffer.concat([encodeMessageIndexes(idx), tail]));
      expect(indexes).toEqual(idx);
      expect([...rest]).toEqual([7, 7]);
    }
  });

  it('refuses truncated message indexes', () => {
    expect(codeOf(() => decodeMessageIndexes(Buffer.from([4, 0x8c])))).toBe('TRIB_FORMAT_DECODE');
    expect(codeOf(() => decodeMessageIndexes(Buffer.alloc(0)))).toBe('TRIB_FORMAT_DECODE');
  });
});

describe('subject naming strategies', () => {
  it('names topic, record and topic-record subjects', () => {
    expect(subjectName('topic', { topic: 'clicks', isKey: false })).toBe('clicks-value');
    expect(subjectName('topic', { topic: 'clicks', isKey: true })).toBe('clicks-key');
    expect(subjectName('record', { topic: 'clicks', isKey: false, recordName: 'a.Click' })).toBe('a.Click');
    expect(subjectName('topic-record', { topic: 'clicks', isKey: false, recordName: 'a.Click' })).toBe(
      'clicks-a.Click',
    );
    expect(codeOf(() => subjectName('record', { topic: 'clicks', isKey: false }))).toBe('TRIB_REGISTRY_CONFIG');
  });
});

describe('registry answers to codes', () => {
  it('keys on the HTTP status, not the body (Apicurio answers 409 with error_code 0)', () => {
    const e = registryHttpError({
      url: 'http://r/apis/ccompat/v7',
      what: 'subject "s"',
      status: 409,
      body: '{"message":"Incompatible artifact","error_code":0}',
      attempts: 1,
    });
    expect(e.code).toBe('TRIB_REGISTRY_INCOMPATIBLE');
    expect(e.message).toContain('http://r/apis/ccompat/v7');
    expect(e.message).toContain('subject "s"');
    expect(e.message).toContain('Incompatible artifact');
    expect([404, 401, 403, 422, 500, 503, 400].map(codeOfStatus)).toEqual([
      'TRIB_REGISTRY_NOT_FOUND',
      'TRIB_REGISTRY_AUTH',
      'TRIB_REGISTRY_AUTH',
      'TRIB_REGISTRY_INVALID_SCHEMA',
      'TRIB_REGISTRY_UNAVAILABLE',
      'TRIB_REGISTRY_UNAVAILABLE',
      'TRIB_REGISTRY_RESPONSE',
    ]);
  });
});

describe('BoundedCache', () => {
  it('keeps at most its capacity, dropping the least recently used', () => {
    const c = new BoundedCache<number, string>(2);
    c.set(1, 'a');
    c.set(2, 'b');
    expect(c.get(1)).toBe('a'); // 1 is now the most recent
    c.set(3, 'c');
    expect(c.get(2)).toBeUndefined();
    expect(c.get(1)).toBe('a');
    expect(c.get(3)).toBe('c');
    expect(c.size).toBe(2);
  });
});
