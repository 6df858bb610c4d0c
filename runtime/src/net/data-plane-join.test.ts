// A running data plane gains and loses a peer (live rescale across processes, groundwork):
// real TCP on loopback, as data-plane.test.ts.
import { connect, createServer, type Server } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPlane, type DataPlaneOptions } from './data-plane.ts';
import { dial } from './dialer.ts';
import { FRAME_CHALLENGE, FRAME_HELLO, FRAME_REFUSE, FRAME_WELCOME, FrameDecoder, jsonFrame } from './frame-codec.ts';
import {
  PROTOCOL_VERSION,
  dataPlaneKey,
  newNonce,
  signHello,
  signWelcome,
  type Hello,
  type UnsignedHello,
  type Welcome,
} from './handshake.ts';
import { flow, seq, seqBatch as batch } from '../testing/data-plane-flow.ts';

const SECRET = 'job-secret';
const KEY = dataPlaneKey(SECRET);

const planes: DataPlane[] = [];
const servers: Server[] = [];
/** Every log line of every plane: a removal must log no link failure. */
const logs: { msg: string; level: number }[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.destroy()));
  for (const s of servers.splice(0)) s.close();
  logs.length = 0;
});

const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

function plane(slot: number, parallelism: number, extra: Partial<DataPlaneOptions> = {}): DataPlane {
  const generation = parallelism === 2 ? 0 : 1;
  const p = new DataPlane({
    identity: { deploymentId: 'dep-1', jobHash: 'h', slot, parallelism, generation },
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    channels: 2,
    logger,
    ...extra,
  });
  planes.push(p);
  return p;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const addr = (p: DataPlane): string => `127.0.0.1:${p.port}`;

/** Slots 0 and 1 running at parallelism 2 (generation 0), linked both ways. */
async function running(extra: Partial<DataPlaneOptions> = {}): Promise<[DataPlane, DataPlane]> {
  const [a, b] = [plane(0, 2, extra), plane(1, 2, extra)];
  await Promise.all([a.listen(), b.listen()]);
  const addrs = [addr(a), addr(b)];
  const opts = { timeoutMs: 5000, retryMs: 20 };
  await Promise.all([
    a.connect(async () => addrs, { ...opts, self: addrs[0]! }),
    b.connect(async () => addrs, { ...opts, self: addrs[1]! }),
  ]);
  return [a, b];
}

/** Slot 2 joins at generation 1 (parallelism 3): the running slots are told first, then it starts. */
async function join(a: DataPlane, b: DataPlane, extra: Partial<DataPlaneOptions> = {}): Promise<DataPlane> {
  for (const p of [a, b]) p.prepareGeneration(1, 3);
  const c = plane(2, 3, extra);
  await c.listen();
  const addrs = [addr(a), addr(b), addr(c)];
  await Promise.all([
    c.connect(async () => addrs, { self: addr(c), timeoutMs: 5000, retryMs: 20 }),
    a.addPeer(2, addr(c), { timeoutMs: 5000, retryMs: 20 }),
    b.addPeer(2, addr(c), { timeoutMs: 5000, retryMs: 20 }),
  ]);
  return c;
}

describe('a running data plane gains a peer', () => {
  it('two slots at parallelism 2 gain slot 2 at generation 1: records flow both ways on new channels', async () => {
    const [a, b] = await running();
    const c = await join(a, b);
    for (const p of [a, b, c]) expect(p.connected).toBe(true);
    expect([a.outbound.size, a.inbound.size, c.outbound.size, c.inbound.size]).toEqual([2, 2, 2, 2]);
    const [toC, fromC, old] = await Promise.all([
      flow(a.outboundChannel(2, 0), c.inboundChannel(0, 0), 5000),
      flow(c.outboundChannel(1, 1), b.inboundChannel(2, 1), 5000),
      flow(b.outboundChannel(0, 1), a.inboundChannel(1, 1), 1000), // the links of generation 0 go on
    ]);
    expect(toC).toEqual(seq(5000));
    expect(fromC).toEqual(seq(5000));
    expect(old).toEqual(seq(1000));
    expect(a.failure ?? b.failure ?? c.failure).toBeUndefined();
  });

  it('credits hold on a channel to and from the new slot: a stalled receiver stops its sender', async () => {
    const tight = { credits: 3, maxQueuedFrames: 2, frameBytes: 4 * 1024 };
    const [a, b] = await running(tight);
    const c = await join(a, b, tight);
    for (const [out, inp] of [
      [a.outboundChannel(2, 1), c.inboundChannel(0, 1)],
      [c.outboundChannel(0, 0), a.inboundChannel(2, 0)],
    ] as const) {
      let sent = 0;
      for (let r = 0; r < 40; r++) {
        while (out.writable) out.send(batch(sent++ * 100, 100));
        await tick();
      }
      await sleep(30);
      expect(out.writable).toBe(false);
      expect(out.gate.granted).toBe(3);
      expect(out.gate.sent).toBe(3);
      expect(inp.framesHeld).toBe(3);
      // Consuming returns credit: the rest flows and the sender never ran ahead of its credit.
      for (let i = 0; i < 50; i++) {
        await tick();
        while (inp.poll() !== undefined);
      }
      expect(out.gate.granted).toBeGreaterThan(3);
      expect(out.gate.sent).toBeLessThanOrEqual(out.gate.granted);
      expect(out.writable).toBe(true);
    }
  });

  it('addPeer waits for the link the new slot dials back: without it, TRIB_PEER_TIMEOUT naming the slot', async () => {
    const [a, b] = await running();
    for (const p of [a, b]) p.prepareGeneration(1, 3);
    const c = plane(2, 3);
    await c.listen(); // listens, never dials
    await expect(a.addPeer(2, addr(c), { timeoutMs: 300, retryMs: 20 })).rejects.toMatchObject({
      code: 'TRIB_PEER_TIMEOUT',
      message: expect.stringContaining(`slot 2 at ${addr(c)} not linked after 300 ms (no link from it)`),
    });
    expect(a.outbound.has(2)).toBe(true);
    expect(a.connected).toBe(false);
    await expect(a.addPeer(3, addr(c))).rejects.toMatchObject({ code: 'TRIB_PEER_CONFIG' });
  });
});

describe('the join handshake', () => {
  const hello = (over: Partial<UnsignedHello>): UnsignedHello => ({
    protocol: PROTOCOL_VERSION,
    deploymentId: 'dep-1',
    jobHash: 'h',
    fromSlot: 2,
    parallelism: 3,
    generation: 1,
    ...over,
  });
  const refusedAs = (reason: string, text: string): Record<string, unknown> => ({
    code: 'TRIB_NET_REFUSED',
    message: expect.stringMatching(new RegExp(`\\(${reason}\\).*${text}`)),
  });

  it('a running slot refuses a new slot until told of its generation, then accepts it', async () => {
    const a = plane(0, 2);
    await a.listen();
    await expect(dial(addr(a), hello({}), KEY)).rejects.toMatchObject(
      refusedAs('generation', 'generation 1 is not prepared'),
    );
    a.prepareGeneration(1, 3);
    const ok = await dial(addr(a), hello({}), KEY);
    expect(ok.welcome).toMatchObject({ slot: 0, generation: 1, parallelism: 3 });
    ok.socket.destroy();
  });

  it('refuses the old generation, a slot outside the prepared membership, another parallelism, protocol 2', async () => {
    const [a, b] = await running();
    const c = await join(a, b);
    // The new slot knows only generation 1: a HELLO of generation 0 is stale.
    await expect(dial(addr(c), hello({ fromSlot: 1, parallelism: 2, generation: 0 }), KEY)).rejects.toMatchObject(
      refusedAs('generation', 'generation 0 is stale'),
    );
    await expect(dial(addr(a), hello({ fromSlot: 3 }), KEY)).rejects.toMatchObject(
      refusedAs('slot', 'slot 3 is outside the membership of generation 1'),
    );
    await expect(dial(addr(a), hello({ parallelism: 4 }), KEY)).rejects.toMatchObject(
      refusedAs('parallelism', 'parallelism 4 is not that of generation 1'),
    );
    await expect(dial(addr(a), hello({ generation: 2 }), KEY)).rejects.toMatchObject(
      refusedAs('generation', 'generation 2 is not prepared'),
    );
    await expect(dial(addr(a), hello({ protocol: 2 }), KEY)).rejects.toMatchObject(refusedAs('protocol', 'protocol 2'));
    // Once the rescale committed, a running slot refuses generation 0 too.
    a.commitGeneration(1);
    await expect(dial(addr(a), hello({ fromSlot: 1, parallelism: 2, generation: 0 }), KEY)).rejects.toMatchObject(
      refusedAs('generation', 'generation 0 is stale'),
    );
    const refused = await a.metrics.refusedHandshakes.get();
    expect(Object.fromEntries(refused.values.map((v) => [v.labels['reason'], v.value]))).toEqual({
      generation: 2,
      slot: 1,
      parallelism: 1,
      protocol: 1,
    });
  });

  it("the HELLO's MAC covers its generation: a generation changed after signing is refused (auth)", async () => {
    const a = plane(0, 2);
    await a.listen();
    a.prepareGeneration(1, 3);
    a.prepareGeneration(2, 3);
    const refusal = await new Promise<Record<string, unknown> | undefined>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: a.port });
      const decoder = new FrameDecoder();
      let got: Record<string, unknown> | undefined;
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          const body = JSON.parse(f.body.toString('utf8')) as Record<string, unknown>;
          if (f.type === FRAME_CHALLENGE) {
            const signed = signHello(KEY, { protocol: PROTOCOL_VERSION, nonce: body['nonce'] as string }, hello({}));
            socket.write(jsonFrame(FRAME_HELLO, { ...signed, generation: 2 }));
          } else if (f.type === FRAME_REFUSE) got = body;
          else if (f.type === FRAME_WELCOME) socket.destroy(); // accepted: resolves with no refusal
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(got));
    });
    expect(refusal).toMatchObject({ reason: 'auth' });
    expect(a.inbound.size).toBe(0);
  });

  /** A server with the job's key that answers every HELLO with `answer(hello, its nonce)`. */
  async function fakeServer(answer: (hello: Hello, nonce: string) => Welcome): Promise<string> {
    const server: Server = createServer((socket) => {
      const nonce = newNonce();
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk))
          if (f.type === FRAME_HELLO)
            socket.write(jsonFrame(FRAME_WELCOME, answer(JSON.parse(f.body.toString('utf8')) as Hello, nonce)));
      });
      socket.on('error', () => {});
      socket.write(jsonFrame(FRAME_CHALLENGE, { protocol: PROTOCOL_VERSION, nonce }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const a = server.address();
    return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }
  const self = { deploymentId: 'dep-1', jobHash: 'h', slot: 0, parallelism: 3 };

  it("the WELCOME's MAC covers its generation; a WELCOME of another generation or a non-member fails the dial", async () => {
    const altered = await fakeServer((h, n) => ({ ...signWelcome(KEY, n, h, self), generation: 2 }));
    await expect(dial(altered, hello({}), KEY)).rejects.toMatchObject({
      code: 'TRIB_NET_PROTOCOL',
      message: expect.stringContaining("could not prove the job's key"),
    });
    const otherGen = await fakeServer((h, n) => signWelcome(KEY, n, { ...h, generation: 2 }, self));
    await expect(dial(otherGen, hello({}), KEY)).rejects.toMatchObject({
      code: 'TRIB_NET_PROTOCOL',
      message: expect.stringContaining(
        'welcomed slot 0 at generation 2 (parallelism 3), not as a member of generation 1',
      ),
    });
    const outside = await fakeServer((h, n) => signWelcome(KEY, n, h, { ...self, slot: 3 }));
    await expect(dial(outside, hello({}), KEY)).rejects.toMatchObject({
      code: 'TRIB_NET_PROTOCOL',
      message: expect.stringContaining('welcomed slot 3'),
    });
    const ok = await fakeServer((h, n) => signWelcome(KEY, n, h, self));
    const r = await dial(ok, hello({}), KEY);
    expect(r.welcome).toMatchObject({ slot: 0, generation: 1, parallelism: 3 });
    r.socket.destroy();
  });
});

describe('a peer leaves', () => {
  const failures = (): unknown[] => logs.filter((l) => l.msg === 'data-plane link failed' || l.level >= 50);

  it('removePeer ends the links with it cleanly on both ends: no failure, nothing logged as one', async () => {
    const [a, b] = await running();
    const c = await join(a, b);
    // Channels with records in flight and no end-of-input: without the removal this close would fail.
    const [toC, fromA, cOut] = [a.outboundChannel(2, 0), c.inboundChannel(0, 0), c.outboundChannel(1, 1)];
    toC.send(batch(0, 10));
    cOut.send(batch(0, 10));
    await sleep(30);
    await Promise.all([a.removePeer(2), b.removePeer(2)]);
    for (let i = 0; i < 20; i++) await tick();
    expect([a.failure, b.failure, c.failure]).toEqual([undefined, undefined, undefined]);
    // The channels the tasks hold neither throw nor carry anything more; the maps forgot the slot.
    expect(fromA.poll()?.kind).toBe('batch');
    expect(() => fromA.poll()).not.toThrow();
    expect(() => cOut.writable && toC.writable).not.toThrow();
    expect([c.outbound.size, c.inbound.size]).toEqual([0, 0]);
    expect(failures()).toEqual([]);
    expect(a.outbound.has(2) || a.inbound.has(2) || b.outbound.has(2) || b.inbound.has(2)).toBe(false);
    expect(a.connected && b.connected).toBe(true);
    // The links of the remaining slots go on.
    expect(await flow(a.outboundChannel(1, 0), b.inboundChannel(0, 0), 500)).toEqual(seq(500));
  });

  it('a removed slot index can join again at the next generation', async () => {
    const [a, b] = await running();
    const c = await join(a, b);
    await Promise.all([a.removePeer(2), b.removePeer(2)]);
    await c.destroy();
    for (const p of [a, b]) p.prepareGeneration(2, 3);
    const again = plane(2, 3, {
      identity: { deploymentId: 'dep-1', jobHash: 'h', slot: 2, parallelism: 3, generation: 2 },
    });
    await again.listen();
    const addrs = [addr(a), addr(b), addr(again)];
    await Promise.all([
      again.connect(async () => addrs, { self: addr(again), timeoutMs: 5000, retryMs: 20 }),
      a.addPeer(2, addr(again), { timeoutMs: 5000, retryMs: 20 }),
      b.addPeer(2, addr(again), { timeoutMs: 5000, retryMs: 20 }),
    ]);
    expect(await flow(again.outboundChannel(0, 1), a.inboundChannel(2, 1), 500)).toEqual(seq(500));
  });

  it('a peer that dies unannounced still fails the running slots (TRIB_NET_CONNECTION_LOST)', async () => {
    const [a, b] = await running();
    const c = await join(a, b);
    c.outboundChannel(0, 0).send(batch(0, 1));
    await sleep(30);
    await c.destroy();
    for (let i = 0; i < 200 && !(a.failure && b.failure); i++) await tick();
    expect(a.failure).toMatchObject({ code: 'TRIB_NET_CONNECTION_LOST' });
    expect(b.failure).toMatchObject({ code: 'TRIB_NET_CONNECTION_LOST' });
    const inp = a.inboundChannel(2, 0);
    expect(inp.poll()?.kind).toBe('batch'); // data first
    expect(() => inp.poll()).toThrow(expect.objectContaining({ code: 'TRIB_NET_CONNECTION_LOST' }));
    expect(failures().length).toBeGreaterThan(0);
  });
});
