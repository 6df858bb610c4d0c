import { describe, expect, it } from 'vitest';
import {
  kubernetesSlotFinder,
  newestPodAddress,
  parsePeerList,
  podAddresses,
  slotSelector,
  staticDiscovery,
  type PodLike,
} from './peer-discovery.ts';

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

  it("finds a joining slot's pod by the slot label: the newest reachable one, else not yet", async () => {
    expect(slotSelector('app=x,tributary.dev/deployment=d1', 2)).toBe(
      'app=x,tributary.dev/deployment=d1,tributary.dev/slot=2',
    );
    const pod = (ip: string | undefined, phase: string, created: string): PodLike => ({
      metadata: { creationTimestamp: created },
      status: { ...(ip ? { podIP: ip } : {}), phase },
    });
    expect(newestPodAddress([pod(undefined, 'Pending', '2026-01-01T00:00:02Z')], 9251)).toBeUndefined();
    // An older pod of the slot still Running (it left in a scale in) is not the joining one.
    expect(
      newestPodAddress(
        [pod('127.0.1.7', 'Running', '2026-01-01T00:00:01Z'), pod('127.0.1.9', 'Running', '2026-01-01T00:00:02Z')],
        9251,
      ),
    ).toBe('127.0.1.9:9251');
    const answers: PodLike[][] = [[], [pod(undefined, 'Pending', 't')], [pod('127.0.1.9', 'Running', 't')]];
    const asked: string[] = [];
    const find = kubernetesSlotFinder(
      (sel) => {
        asked.push(sel);
        const a = answers.shift();
        return a ? Promise.resolve(a) : Promise.reject(new Error('API away'));
      },
      { selector: 'app=x', port: 9251, everyMs: 1 },
    );
    expect(await find(3, Date.now() + 5000)).toBe('127.0.1.9:9251');
    expect(asked).toEqual(['app=x,tributary.dev/slot=3', 'app=x,tributary.dev/slot=3', 'app=x,tributary.dev/slot=3']);
    // A listing that keeps failing is retried until the deadline; then "not found".
    const errors: unknown[] = [];
    const never = kubernetesSlotFinder(() => Promise.reject(new Error('API away')), {
      selector: 'app=x',
      port: 9251,
      everyMs: 5,
      onError: (e) => errors.push(e),
    });
    expect(await never(3, Date.now() + 30)).toBeUndefined();
    expect(errors.length).toBeGreaterThan(1);
  });
});
