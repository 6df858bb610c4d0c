import { describe, expect, it } from 'vitest';
import type { ChannelElement } from '../core/channel.ts';
import { batchOf, pollKinds } from '../testing/channel-batches.ts';
import { collected, watch } from '../testing/reachability.ts';
import { InboundChannel } from './tcp-channel.ts';

describe('InboundChannel (slot threads and TCP)', () => {
  it('lets go of the batches its consumer took, and returns a credit per frame consumed', async () => {
    let credits = 0;
    const ch = new InboundChannel(0, { returnCredit: () => credits++, failure: undefined });
    const refs = ((): WeakRef<object>[] => {
      const els = [batchOf(100), batchOf(100), batchOf(100)];
      ch.deliver(els.slice(0, 2));
      ch.deliver([els[2] as ChannelElement, batchOf(1)]);
      return watch(els);
    })();
    expect(pollKinds(ch, 3)).toEqual(['batch', 'batch', 'batch']);
    // The first frame was consumed whole, the second is not: one credit back.
    expect(credits).toBe(1);
    expect(await collected(refs)).toBe(3);
  });
});
