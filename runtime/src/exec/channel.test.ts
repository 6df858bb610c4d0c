import { describe, expect, it } from 'vitest';
import { batchOf, pollKinds } from '../testing/channel-batches.ts';
import { collected, watch } from '../testing/reachability.ts';
import { LocalChannel } from './channel.ts';

describe('LocalChannel', () => {
  it('lets go of the batches its consumer took', async () => {
    const ch = new LocalChannel(16);
    const refs = ((): WeakRef<object>[] => {
      const els = [batchOf(100), batchOf(100), batchOf(100)];
      for (const el of els) ch.send(el);
      ch.send(batchOf(1));
      return watch(els);
    })();
    expect(pollKinds(ch, 3)).toEqual(['batch', 'batch', 'batch']);
    expect(await collected(refs)).toBe(3);
  });
});
