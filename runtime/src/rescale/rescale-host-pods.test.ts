// Slot 0's host of a live rescale of slot pods (rescale-host-pods.ts): what it publishes and orders, in which
// order, what it waits for and how it fails; and a running slot's part (join-link-order.ts followLinkOrder). The
// running slots are recorders here; the real ones link real pods in slot-pods-rescale.int.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JoiningSlot } from '../core/migration.ts';
import { TributaryError } from '../errors.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { answerOf, followLinkOrder, type LinkOrder, type LinkOrderRpc } from './join-link-order.ts';
import { PodRescaleHost } from './rescale-host-pods.ts';

function setUp(parallelism: number, o: { timeoutMs?: number; linkDown?: number } = {}) {
  const events: string[] = [];
  const sent: { slot: number; msg: LinkOrderRpc }[] = [];
  let here: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const host = new PodRescaleHost({
    parallelism: () => parallelism,
    send: (slot, msg) => {
      events.push(`order slot ${slot}`);
      sent.push({ slot, msg });
      return slot !== o.linkDown;
    },
    followHere: (order: LinkOrder) => {
      events.push(`order slot 0 (here): ${order.slot} g${order.generation} p${order.parallelism}`);
      return new Promise<void>((resolve, reject) => (here = { resolve, reject }));
    },
    timeoutMs: o.timeoutMs ?? 60_000,
    logger: silentLogger(),
  });
  const awaiting = (j: JoiningSlot | undefined): void => {
    events.push(j ? `awaiting ${j.slot} g${j.generation} p${j.parallelism}` : 'awaiting cleared');
  };
  const answer = (slot: number, error?: { error: string; code: string }): void => {
    const order = sent.find((s) => s.slot === slot)?.msg as LinkOrderRpc;
    events.push(`answer slot ${slot}`);
    host.receive({ m: 'link-answer', id: order.id, ...error });
  };
  return { host, events, sent, awaiting, answer, here: () => here as NonNullable<typeof here> };
}

const settled = async <T>(p: Promise<T>): Promise<'pending' | 'done' | 'failed'> => {
  const state = await Promise.race([
    p.then(
      () => 'done' as const,
      () => 'failed' as const,
    ),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), 20)),
  ]);
  return state;
};

describe('pod rescale host (slot 0 of slot pods)', () => {
  afterEach(() => vi.useRealTimers());

  it('publishes the joining slot, orders every running slot to link, waits for all answers, then clears it', async () => {
    const { host, events, sent, awaiting, answer, here } = setUp(3);
    const done = host.rescale(4, 2, 4, awaiting);
    // The orders carry the joining slot, its generation and parallelism, and the bound.
    expect(sent.map((s) => [s.slot, s.msg])).toEqual([
      [1, { m: 'link-order', id: 1, slot: 3, generation: 2, parallelism: 4, timeoutMs: 60_000 }],
      [2, { m: 'link-order', id: 2, slot: 3, generation: 2, parallelism: 4, timeoutMs: 60_000 }],
    ]);
    answer(2);
    here().resolve();
    expect(await settled(done)).toBe('pending'); // slot 1 has not answered
    answer(1);
    await done;
    expect(events).toEqual([
      'awaiting 3 g2 p4',
      'order slot 0 (here): 3 g2 p4',
      'order slot 1',
      'order slot 2',
      'answer slot 2',
      'answer slot 1',
      'awaiting cleared',
    ]);
  });

  it('waits for slot 0 itself too', async () => {
    const { host, awaiting, answer, here } = setUp(2);
    const done = host.rescale(3, 1, 3, awaiting);
    answer(1);
    expect(await settled(done)).toBe('pending');
    here().resolve();
    expect(await settled(done)).toBe('done');
  });

  it("a running slot's error fails the rescale with its code, naming it and the joining slot; awaiting cleared", async () => {
    const { host, events, awaiting, answer, here } = setUp(2);
    const done = host.rescale(3, 1, 3, awaiting);
    here().resolve();
    answer(1, { error: 'slot 1: no pod of joining slot 2 … was it created?', code: 'TRIB_PEER_TIMEOUT' });
    await expect(done).rejects.toMatchObject({
      code: 'TRIB_PEER_TIMEOUT',
      message: expect.stringMatching(/slot 1 linking with joining slot 2: slot 1: no pod of joining slot 2/),
    });
    expect(events.at(-1)).toBe('awaiting cleared');
  });

  it("slot 0's own failure names slot 0", async () => {
    const { host, awaiting, answer, here } = setUp(2);
    const done = host.rescale(3, 1, 3, awaiting);
    answer(1);
    here().reject(new TributaryError('TRIB_PEER_TIMEOUT', 'slot 0: no pod of joining slot 2'));
    await expect(done).rejects.toMatchObject({
      code: 'TRIB_PEER_TIMEOUT',
      message: expect.stringMatching(/^live rescale: slot 0 linking with joining slot 2: /),
    });
  });

  it('an answer that never comes times out past the bound, naming the slot and what it was to do', async () => {
    vi.useFakeTimers();
    const { host, events, awaiting, here } = setUp(2, { timeoutMs: 1000 });
    const done = host.rescale(3, 1, 3, awaiting);
    const failed = expect(done).rejects.toMatchObject({
      code: 'TRIB_PEER_TIMEOUT',
      message: expect.stringMatching(/slot 1 did not answer its order to link with joining slot 2 \(generation 1/),
    });
    here().resolve();
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).not.toContain('awaiting cleared'); // still within the grace for the answer's way back
    await vi.advanceTimersByTimeAsync(5000);
    await failed;
    expect(events.at(-1)).toBe('awaiting cleared');
  });

  it('a running slot whose link is down fails the rescale at once', async () => {
    const { host, awaiting, here } = setUp(3, { linkDown: 2 });
    const done = host.rescale(4, 1, 4, awaiting);
    here().resolve();
    await expect(done).rejects.toMatchObject({ code: 'TRIB_NET_CONNECTION_LOST', message: /link to slot 2 is down/ });
  });

  it('a scale in starts nothing and publishes nothing', async () => {
    const { host, events, awaiting } = setUp(3);
    await host.rescale(1, 1, 1, awaiting);
    expect(events).toEqual([]);
  });

  it('refuses more than one joining slot per part', async () => {
    const { host, events, awaiting } = setUp(2);
    await expect(host.rescale(4, 1, 4, awaiting)).rejects.toMatchObject({ code: 'TRIB_INVARIANT' });
    expect(events).toEqual([]);
  });
});

describe("a running slot's link order", () => {
  const order: LinkOrder = { slot: 2, generation: 1, parallelism: 3, timeoutMs: 200 };

  it('prepares the generation before it looks for the pod, then links with the address found', async () => {
    const calls: string[] = [];
    await followLinkOrder(
      {
        slot: 1,
        prepareJoin: (g, p) => calls.push(`prepare g${g} p${p}`),
        addPeer: (s, a) => {
          calls.push(`link ${s} at ${a}`);
          return Promise.resolve();
        },
      },
      order,
      (slot) => {
        calls.push(`find ${slot}`);
        return Promise.resolve('127.0.1.9:9251');
      },
    );
    expect(calls).toEqual(['prepare g1 p3', 'find 2', 'link 2 at 127.0.1.9:9251']);
  });

  it('no pod found by the bound: TRIB_PEER_TIMEOUT naming the joining slot; answered with its code', async () => {
    const follow = followLinkOrder(
      { slot: 1, prepareJoin: () => undefined, addPeer: () => Promise.reject(new Error('not reached')) },
      order,
      () => Promise.resolve(undefined),
    );
    expect(await answerOf(7, follow)).toEqual({
      m: 'link-answer',
      id: 7,
      code: 'TRIB_PEER_TIMEOUT',
      error: expect.stringMatching(
        /^slot 1: no pod of joining slot 2 \(generation 1, parallelism 3\) was Running with a pod IP within 200 ms/,
      ),
    });
  });
});
