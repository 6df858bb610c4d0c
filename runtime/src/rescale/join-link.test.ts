// The join marker's checks and a running slot's preparation for a join (join-link.ts).
import { describe, expect, it } from 'vitest';
import { checkJoin, prepareJoin } from './join-link.ts';

describe('a join marker', () => {
  it('names a rescale generation, a new slot and the job maxParallelism, else TRIB_PEER_CONFIG', () => {
    const ok = { slot: 2, parallelism: 3, maxParallelism: 128 };
    expect(() => checkJoin({ generation: 1 }, ok)).not.toThrow();
    type Shape = { slot: number; parallelism: number; maxParallelism?: number; restoreFrom?: string };
    const refused = (g: number, o: Shape): string => {
      try {
        checkJoin({ generation: g }, o);
        return 'accepted';
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
    };
    expect(refused(0, ok)).toMatch(/^TRIB_PEER_CONFIG: .*generation 0 is not a rescale's/);
    expect(refused(1, { slot: 2, parallelism: 3 })).toMatch(/^TRIB_PEER_CONFIG: .*maxParallelism must be given/);
    expect(refused(1, { ...ok, slot: 0 })).toMatch(/^TRIB_PEER_CONFIG: .*slot 0 is not a new slot/);
    expect(refused(1, { ...ok, slot: 3 })).toMatch(/^TRIB_PEER_CONFIG: .*slot 3 is not a new slot/);
    expect(refused(1, { ...ok, restoreFrom: '/s/chk-4' })).toMatch(/^TRIB_PEER_CONFIG: .*restores nothing/);
  });
});

describe('a running slot prepares a join', () => {
  const plane = () => {
    const prepared: [number, number, string][] = [];
    return {
      prepared,
      identity: { deploymentId: 'd', jobHash: 'h2', slot: 1, parallelism: 2 },
      prepareGeneration: (g: number, p: number, h?: string) => void prepared.push([g, p, h as string]),
    };
  };

  it('prepares the generation with the job hash at the new parallelism', () => {
    const p = plane();
    prepareJoin(p, 1, 3, (n) => `h${n}`);
    expect(p.prepared).toEqual([[1, 3, 'h3']]);
  });

  it('refuses a parallelism that is not a scale out (TRIB_RESCALE_UNSUPPORTED), preparing nothing', () => {
    const p = plane();
    for (const n of [2, 1, 2.5])
      expect(() => prepareJoin(p, 1, n, (x) => `h${x}`)).toThrow(
        expect.objectContaining({ code: 'TRIB_RESCALE_UNSUPPORTED' }),
      );
    expect(p.prepared).toEqual([]);
  });
});
