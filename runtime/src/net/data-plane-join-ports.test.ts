// Slot threads gain and lose a peer over MessagePorts (live rescale with `--threads`): the
// supervisor makes a channel per ordered pair of the new slot and each running one
// (`threadJoinPorts`); the new slot links as at start (`connectPorts`), the running ones with
// `addPeerPorts`. Same handshake, generations, credits and BYE as over TCP (data-plane-join.test.ts).
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { flow, seq } from '../testing/data-plane-flow.ts';
import { DataPlane } from './data-plane.ts';
import { threadJoinPorts, threadPortMesh } from './port-socket.ts';

const planes: DataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.destroy()));
});
const logger = pino({ level: 'silent' });

function plane(slot: number, parallelism: number, generation: number, secret = 'job-secret'): DataPlane {
  const identity = { deploymentId: 'dep-1', jobHash: 'h', slot, parallelism, generation };
  const p = new DataPlane({ identity, secret, host: '127.0.0.1', port: 0, channels: 2, logger });
  planes.push(p);
  return p;
}

/** Slots 0 and 1 at parallelism 2, linked over ports. */
async function running(): Promise<[DataPlane, DataPlane]> {
  const [a, b] = [plane(0, 2, 0), plane(1, 2, 0)];
  const mesh = threadPortMesh(2);
  await Promise.all([a.connectPorts(mesh[0]!, 5000), b.connectPorts(mesh[1]!, 5000)]);
  return [a, b];
}

/** Slot 2 joins at generation `generation`, parallelism 3; the running slots prepared generation 1 when `prepare`. */
function join(a: DataPlane, b: DataPlane, o: { prepare: boolean; generation?: number; secret?: string }) {
  if (o.prepare) for (const p of [a, b]) p.prepareGeneration(1, 3);
  const c = plane(2, 3, o.generation ?? 1, o.secret);
  const ports = threadJoinPorts([0, 1], [2]);
  return {
    c,
    linked: Promise.allSettled([
      c.connectPorts(ports.joiners.get(2)!, 2000),
      a.addPeerPorts(2, ports.forRunning.get(0)!.get(2)!, 2000),
      b.addPeerPorts(2, ports.forRunning.get(1)!.get(2)!, 2000),
    ]),
  };
}

describe('slot threads gain a peer over ports', () => {
  it('two running threads gain slot 2: records flow both ways on its channels, the old links go on', async () => {
    const [a, b] = await running();
    const { c, linked } = join(a, b, { prepare: true });
    expect((await linked).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    for (const p of [a, b, c]) expect(p.connected).toBe(true);
    const [toC, fromC, old] = await Promise.all([
      flow(a.outboundChannel(2, 0), c.inboundChannel(0, 0), 5000),
      flow(c.outboundChannel(1, 1), b.inboundChannel(2, 1), 5000),
      flow(b.outboundChannel(0, 1), a.inboundChannel(1, 1), 1000),
    ]);
    expect(toC).toEqual(seq(5000));
    expect(fromC).toEqual(seq(5000));
    expect(old).toEqual(seq(1000));
    expect(a.failure ?? b.failure ?? c.failure).toBeUndefined();
  });

  it('two threads join at once (2 → 4): linked with the running ones and with each other', async () => {
    const [a, b] = await running();
    for (const p of [a, b]) p.prepareGeneration(1, 4);
    const [c, d] = [plane(2, 4, 1), plane(3, 4, 1)];
    const ports = threadJoinPorts([0, 1], [2, 3]);
    await Promise.all([
      c.connectPorts(ports.joiners.get(2)!, 2000),
      d.connectPorts(ports.joiners.get(3)!, 2000),
      ...[a, b].flatMap((p, r) => [2, 3].map((j) => p.addPeerPorts(j, ports.forRunning.get(r)!.get(j)!, 2000))),
    ]);
    for (const p of [a, b, c, d]) expect(p.connected).toBe(true);
    const [cd, db] = await Promise.all([
      flow(c.outboundChannel(3, 0), d.inboundChannel(2, 0), 1000),
      flow(d.outboundChannel(1, 1), b.inboundChannel(3, 1), 1000),
    ]);
    expect(cd).toEqual(seq(1000));
    expect(db).toEqual(seq(1000));
  });

  it('a running thread not told of the generation refuses the new slot, and both sides say so', async () => {
    const [a, b] = await running();
    const { linked } = join(a, b, { prepare: false });
    const [joiner, onA] = await linked;
    expect(onA).toMatchObject({ status: 'rejected', reason: { code: 'TRIB_PEER_CONFIG' } });
    expect(String((onA as PromiseRejectedResult).reason)).toMatch(/slot 2 is not another member of generation 0/);
    // The refusing side closes the ports: the new slot's handshake fails on the close, not by its timeout.
    expect(joiner).toMatchObject({ status: 'rejected', reason: { code: 'TRIB_NET_CONNECT' } });
    expect(String((joiner as PromiseRejectedResult).reason)).toMatch(/closed the connection during the handshake/);
    expect(a.connected && b.connected).toBe(true); // the running links are untouched
  });

  it('a new thread without the job secret is refused at the handshake', async () => {
    const [a, b] = await running();
    const { linked } = join(a, b, { prepare: true, secret: 'guessed' });
    const [joiner, onA, onB] = await linked;
    expect(joiner).toMatchObject({ status: 'rejected', reason: { code: 'TRIB_NET_REFUSED' } });
    expect(onA).toMatchObject({ status: 'rejected' });
    expect(onB).toMatchObject({ status: 'rejected' });
    expect(a.inbound.has(2) || b.inbound.has(2)).toBe(false);
  });

  it('removePeer retires a port-linked slot with BYE: no failure on any end', async () => {
    const [a, b] = await running();
    const { c, linked } = join(a, b, { prepare: true });
    await linked;
    await Promise.all([a.removePeer(2), b.removePeer(2), c.removePeer(0), c.removePeer(1)]);
    expect(a.failure ?? b.failure ?? c.failure).toBeUndefined();
    expect([a.outbound.has(2), a.inbound.has(2), a.connected, b.connected]).toEqual([false, false, true, true]);
    expect(await flow(a.outboundChannel(1, 0), b.inboundChannel(0, 0), 500)).toEqual(seq(500));
  });

  it('refuses a slot that is not a new member, and a joiner that is running already', async () => {
    const [a, b] = await running();
    a.prepareGeneration(1, 3);
    const ports = threadJoinPorts([0], [2]).forRunning.get(0)!.get(2)!;
    await expect(a.addPeerPorts(1, ports)).rejects.toMatchObject({ code: 'TRIB_PEER_CONFIG' });
    await expect(a.addPeerPorts(3, ports)).rejects.toMatchObject({ code: 'TRIB_PEER_CONFIG' });
    expect(() => threadJoinPorts([0, 1], [2, 1])).toThrow(/slot 1 is running already/);
    expect(b.connected).toBe(true);
  });
});
