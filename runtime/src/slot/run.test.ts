import { describe, expect, it } from 'vitest';
import { slotStateBackend } from './run.ts';

describe('slotStateBackend', () => {
  it("is the job config's backend, its dir under the pod root when the node agent runs the slot", () => {
    const disk = { kind: 'disk', dir: '/var/lib/tributary/state', cacheEntries: 5000 } as const;
    expect(slotStateBackend(disk, undefined)).toEqual(disk);
    expect(slotStateBackend(disk, '/pods/p1')).toEqual({ ...disk, dir: '/pods/p1/var/lib/tributary/state' });
    // No dir: the store picks its own (the OS temp dir).
    expect(slotStateBackend({ kind: 'disk' }, '/pods/p1')).toEqual({ kind: 'disk' });
    expect(slotStateBackend({ kind: 'heap' }, undefined)).toEqual({ kind: 'heap' });
  });
});
