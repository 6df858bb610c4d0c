// The generations a slot accepts peers of, without sockets (the handshake over TCP: data-plane-join.test.ts).
import { describe, expect, it } from 'vitest';
import { Membership } from './membership.ts';

const claim = (generation: number, fromSlot: number, parallelism: number): Record<string, unknown> => ({
  generation,
  fromSlot,
  parallelism,
  jobHash: 'h',
});

describe('membership generations', () => {
  it('accepts the generations it started with or was told of, until a commit makes the older ones stale', () => {
    const m = new Membership({ generation: 0, parallelism: 2, jobHash: 'h' }, 0);
    expect(m.check(claim(0, 1, 2))).toBeUndefined();
    expect(m.check(claim(1, 2, 3))).toMatchObject({
      reason: 'generation',
      message: expect.stringContaining('not prepared'),
    });
    m.prepare({ generation: 1, parallelism: 3, jobHash: 'h' });
    expect(m.newest.generation).toBe(1);
    expect(m.check(claim(1, 2, 3))).toBeUndefined();
    expect(m.check(claim(0, 1, 2))).toBeUndefined(); // the running links' generation still counts
    m.commit(1);
    expect(m.floor).toBe(1);
    expect(m.check(claim(0, 1, 2))).toMatchObject({ reason: 'generation', message: 'peer generation 0 is stale' });
  });

  it('refuses a slot outside the generation, itself, another parallelism or job, a non-integer generation', () => {
    const m = new Membership({ generation: 3, parallelism: 3, jobHash: 'h' }, 1);
    expect(m.check(claim(3, 3, 3))).toMatchObject({ reason: 'slot', message: expect.stringContaining('outside') });
    expect(m.check(claim(3, 1, 3))).toMatchObject({ reason: 'slot', message: expect.stringContaining('another') });
    expect(m.check(claim(3, -1, 3))).toMatchObject({ reason: 'slot' });
    expect(m.check(claim(3, 0, 2))).toMatchObject({ reason: 'parallelism' });
    expect(m.check({ ...claim(3, 0, 3), jobHash: 'x' })).toMatchObject({ reason: 'job' });
    expect(m.check(claim(2.5, 0, 3))).toMatchObject({ reason: 'malformed' });
    expect(m.check(claim(2, 0, 3))).toMatchObject({ reason: 'generation', message: 'peer generation 2 is stale' });
  });

  it('generations only grow: an older, repeated or empty one, or a commit of an unknown one, is a config error', () => {
    const m = new Membership({ generation: 1, parallelism: 2, jobHash: 'h' }, 0);
    expect(() => m.prepare({ generation: 1, parallelism: 3, jobHash: 'h' })).toThrow(
      expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }),
    );
    expect(() => m.prepare({ generation: 2, parallelism: 0, jobHash: 'h' })).toThrow(
      expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }),
    );
    expect(() => m.commit(5)).toThrow(expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }));
    expect(() => new Membership({ generation: 0, parallelism: 0, jobHash: 'h' }, 0)).toThrow(
      expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }),
    );
  });
});
