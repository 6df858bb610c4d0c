import { describe, expect, it } from 'vitest';
import { IpAllocator, formatIPv4, parseCidr, parseIPv4 } from './ip-allocator.ts';

describe('pod IP allocation', () => {
  it('parses loopback CIDRs and refuses others', () => {
    expect(parseCidr('127.0.1.0/24')).toEqual({ base: parseIPv4('127.0.1.0'), prefix: 24, size: 256 });
    expect(parseCidr('127.0.1.77/24').base).toBe(parseIPv4('127.0.1.0'));
    expect(() => parseCidr('10.0.0.0/24')).toThrow(/loopback/);
    expect(() => parseCidr('127.0.1.0')).toThrow(/must look like/);
    expect(() => parseCidr('127.0.1.0/31')).toThrow();
    expect(formatIPv4(parseIPv4('127.0.1.254'))).toBe('127.0.1.254');
  });

  it('hands out distinct addresses, skipping network and broadcast, and is stable per owner', () => {
    const a = new IpAllocator('127.0.1.0/24');
    expect(a.allocate('p1')).toBe('127.0.1.1');
    expect(a.allocate('p2')).toBe('127.0.1.2');
    expect(a.allocate('p1')).toBe('127.0.1.1');
    const all = new Set(['127.0.1.1', '127.0.1.2']);
    for (let i = 3; i <= 254; i++) all.add(a.allocate(`p${i}`));
    expect(all.size).toBe(254);
    expect(all.has('127.0.1.0')).toBe(false);
    expect(all.has('127.0.1.255')).toBe(false);
    expect(() => a.allocate('one-too-many')).toThrow(expect.objectContaining({ code: 'NODE_AGENT_IP_EXHAUSTED' }));
  });

  it('reuses a released address as late as possible', () => {
    const a = new IpAllocator('127.0.1.0/29'); // .1 .. .6
    expect(a.allocate('a')).toBe('127.0.1.1');
    expect(a.allocate('b')).toBe('127.0.1.2');
    a.release('a');
    expect(a.allocate('c')).toBe('127.0.1.3');
    expect(a.allocate('d')).toBe('127.0.1.4');
    expect(a.allocate('e')).toBe('127.0.1.5');
    expect(a.allocate('f')).toBe('127.0.1.6');
    expect(a.allocate('g')).toBe('127.0.1.1');
    expect(a.size).toBe(6);
  });

  it('reserves addresses pods already had (agent restart) unless out of range or taken', () => {
    const a = new IpAllocator('127.0.1.0/24');
    expect(a.reserve('old', '127.0.1.9')).toBe(true);
    expect(a.reserve('old', '127.0.1.9')).toBe(true);
    expect(a.reserve('other', '127.0.1.9')).toBe(false);
    expect(a.reserve('x', '127.0.2.9')).toBe(false);
    expect(a.reserve('x', '127.0.1.255')).toBe(false);
    expect(a.get('old')).toBe('127.0.1.9');
    expect(a.allocate('new')).toBe('127.0.1.1');
  });
});
