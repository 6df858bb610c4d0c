import { describe, expect, it } from 'vitest';
import { parsePeerList, podAddresses, staticDiscovery } from './peer-discovery.ts';

describe('peer discovery', () => {
  it('parses an explicit peer list', async () => {
    const peers = parsePeerList(' 127.0.0.1:7001,127.0.0.1:7002 ,[::1]:7003,');
    expect(peers).toEqual(['127.0.0.1:7001', '127.0.0.1:7002', '[::1]:7003']);
    expect(await staticDiscovery(peers)()).toEqual(peers);
  });

  it('rejects malformed and repeated addresses with TRIB_PEER_CONFIG', () => {
    expect(() => parsePeerList('127.0.0.1')).toThrow(expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }));
    expect(() => parsePeerList('127.0.0.1:0')).toThrow(expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }));
    expect(() => parsePeerList('a:1,a:1')).toThrow(expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }));
  });

  it('takes running pods with an IP that are not being deleted', () => {
    const pods = [
      { metadata: { name: 'a' }, status: { podIP: '127.0.1.3', phase: 'Running' } },
      { metadata: { name: 'b' }, status: { phase: 'Pending' } },
      {
        metadata: { name: 'c', deletionTimestamp: '2026-01-01T00:00:00Z' },
        status: { podIP: '127.0.1.4', phase: 'Running' },
      },
      { metadata: { name: 'd' }, status: { podIP: '127.0.1.2', phase: 'Running' } },
      { metadata: { name: 'e' }, status: { podIP: '127.0.1.5', phase: 'Failed' } },
    ];
    expect(podAddresses(pods, 9251)).toEqual(['127.0.1.2:9251', '127.0.1.3:9251']);
  });
});
