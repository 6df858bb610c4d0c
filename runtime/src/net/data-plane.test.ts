// Two (or three) data planes in this process over real loopback TCP, and over the MessagePorts
// slot threads link with (connectPorts).
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelElement } from '../core/channel.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { DataPlane, type DataPlaneOptions } from './data-plane.ts';
import { dial } from './dialer.ts';
import { connect } from 'node:net';
import {
  FRAME_CHALLENGE,
  FRAME_DATA,
  FRAME_HELLO,
  FRAME_REFUSE,
  FrameDecoder,
  dataFrame,
  jsonFrame,
} from './frame-codec.ts';
import { PROTOCOL_VERSION, dataPlaneKey } from './handshake.ts';
import { threadPortMesh } from './port-socket.ts';

const SECRET = 'job-secret';
const KEY = dataPlaneKey(SECRET);

const planes: DataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.destroy()));
});

function plane(slot: number, parallelism: number, extra: Partial<DataPlaneOptions> = {}): DataPlane {
  const p = new DataPlane({
    identity: { deploymentId: 'dep-1', jobHash: 'h', slot, parallelism },
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    channels: 2,
    logger: silentLogger(),
    ...extra,
  });
  planes.push(p);
  return p;
}

async function mesh(ps: DataPlane[]): Promise<void> {
  const ports = await Promise.all(ps.map((p) => p.listen()));
  const addrs = ports.map((port) => `127.0.0.1:${port}`);
  await Promise.all(
    ps.map((p, i) => p.connect(async () => addrs, { self: addrs[i] as string, timeoutMs: 5000, retryMs: 20 })),
  );
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function batch(from: number, n: number): ChannelElement {
  const recs = Array.from({ length: n }, (_, i) => ({ seq: from + i, pad: 'x'.repeat(40) }));
  return { kind: 'batch', batch: { recs, ts: recs.map((r) => r.seq), keys: [], kgs: [], n } };
}

describe('data plane', () => {
  it('links every pair of slots and delivers records and in-band elements in order', async () => {
    const ps = [plane(0, 3), plane(1, 3), plane(2, 3)];
    await mesh(ps);
    for (const p of ps) expect(p.connected).toBe(true);
    const out = ps[0]!.outboundChannel(2, 1);
    out.send(batch(0, 3));
    out.send({ kind: 'watermark', wm: 2 });
    out.send(batch(3, 2));
    out.send({ kind: 'end' });
    const inp = ps[2]!.inboundChannel(0, 1);
    const got: ChannelElement[] = [];
    for (let i = 0; i < 200 && got.at(-1)?.kind !== 'end'; i++) {
      await tick();
      for (let el = inp.poll(); el; el = inp.poll()) got.push(el);
    }
    expect(got.map((e) => e.kind)).toEqual(['batch', 'watermark', 'batch', 'end']);
    expect(got.flatMap((e) => (e.kind === 'batch' ? e.batch.recs.map((r) => r['seq']) : []))).toEqual([0, 1, 2, 3, 4]);
    expect(ps[2]!.inboundChannel(1, 1).poll()).toBeUndefined();
  });

  it('a stalled receiver stops the sender: frames in flight never exceed credit, memory stays bounded', async () => {
    const credits = 4;
    const maxQueuedFrames = 2;
    const frameBytes = 8 * 1024;
    const [a, b] = [
      plane(0, 2, { credits, maxQueuedFrames, frameBytes }),
      plane(1, 2, { credits, maxQueuedFrames, frameBytes }),
    ];
    await mesh([a!, b!]);
    const out = a!.outboundChannel(1, 0);
    const inp = b!.inboundChannel(0, 0);
    let wakes = 0;
    out.setWake(() => wakes++);
    // Producer loop as a task does it: push only while writable.
    let seq = 0;
    const produce = async (rounds: number): Promise<void> => {
      for (let r = 0; r < rounds; r++) {
        while (out.writable) {
          out.send(batch(seq, 100));
          seq += 100;
        }
        await tick();
      }
    };
    await produce(50);
    await sleep(50);
    const stalledAt = seq;
    await produce(50);
    // Nothing was consumed: the producer got no further, however long it tried.
    expect(seq).toBe(stalledAt);
    expect(out.gate.sent).toBeLessThanOrEqual(out.gate.granted);
    expect(out.gate.granted).toBe(credits);
    expect(out.gate.queued).toBeLessThanOrEqual(maxQueuedFrames);
    expect(inp.framesHeld).toBeLessThanOrEqual(credits);
    // Bounded: credits + queued frames + the one being filled, each a frame of ~frameBytes + one batch.
    expect(seq).toBeLessThan((credits + maxQueuedFrames + 2) * 200);
    // Consume everything: the producer is woken and the rest flows.
    const seen: number[] = [];
    const consume = (): void => {
      for (let el = inp.poll(); el; el = inp.poll())
        if (el.kind === 'batch') for (const r of el.batch.recs) seen.push(r['seq'] as number);
    };
    for (let i = 0; i < 100; i++) {
      consume();
      await tick();
    }
    expect(wakes).toBeGreaterThan(0);
    const target = seq + 20_000;
    while (seq < target) {
      await produce(1);
      consume();
    }
    out.send({ kind: 'end' });
    for (let i = 0; i < 500 && seen.length < seq; i++) {
      await tick();
      consume();
    }
    expect(seen.length).toBe(seq);
    expect(seen.every((v, i) => v === i)).toBe(true);
    expect(out.gate.sent).toBeLessThanOrEqual(out.gate.granted);
    a!.outboundChannel(1, 1).send({ kind: 'end' }); // drained = every channel of every link ended
    await a!.drain();
    const bp = await a!.metrics.backpressuredSeconds.get();
    expect(bp.values[0]?.value).toBeGreaterThan(0);
  });

  it('refuses a peer of another deployment (stale) and a duplicate slot', async () => {
    const a = plane(0, 2);
    const port = await a.listen();
    const hello = {
      protocol: PROTOCOL_VERSION,
      deploymentId: 'dep-0-old',
      jobHash: 'h',
      fromSlot: 1,
      parallelism: 2,
      generation: 0,
    };
    const stale = dial(`127.0.0.1:${port}`, hello, KEY);
    await expect(stale).rejects.toMatchObject({
      code: 'TRIB_NET_REFUSED',
      message: expect.stringContaining('(deployment)'),
    });
    // The refusal names the peer's own values, never the expected ones.
    await expect(stale).rejects.toMatchObject({ message: expect.not.stringContaining('dep-1') });
    await expect(
      dial(`127.0.0.1:${port}`, { ...hello, deploymentId: 'dep-1', jobHash: 'other' }, KEY),
    ).rejects.toMatchObject({ code: 'TRIB_NET_REFUSED', message: expect.stringContaining('(job)') });
    const ok = await dial(`127.0.0.1:${port}`, { ...hello, deploymentId: 'dep-1' }, KEY);
    expect(ok.welcome.slot).toBe(0);
    await expect(dial(`127.0.0.1:${port}`, { ...hello, deploymentId: 'dep-1' }, KEY)).rejects.toMatchObject({
      code: 'TRIB_NET_REFUSED',
      message: expect.stringContaining('(duplicate)'),
    });
    ok.socket.destroy();
    const refused = await a.metrics.refusedHandshakes.get();
    expect(refused.values.map((v) => v.labels['reason']).sort()).toEqual(['deployment', 'duplicate', 'job']);
  });

  it('a stale deployment in the address list is skipped; connect times out with TRIB_PEER_TIMEOUT naming the missing slots', async () => {
    const stale = plane(1, 2, { identity: { deploymentId: 'dep-0', jobHash: 'h', slot: 1, parallelism: 2 } });
    const a = plane(0, 2);
    const [ps, pa] = [await stale.listen(), await a.listen()];
    await expect(
      a.connect(async () => [`127.0.0.1:${pa}`, `127.0.0.1:${ps}`], {
        self: `127.0.0.1:${pa}`,
        timeoutMs: 400,
        retryMs: 50,
      }),
    ).rejects.toMatchObject({
      code: 'TRIB_PEER_TIMEOUT',
      message: expect.stringMatching(/no link to slots \[1\].*refused the connection \(deployment\)/),
    });
  });

  it('a lost connection before end-of-input fails the consumer (TRIB_NET_CONNECTION_LOST)', async () => {
    const [a, b] = [plane(0, 2), plane(1, 2)];
    await mesh([a!, b!]);
    let woken = false;
    const inp = b!.inboundChannel(0, 0);
    inp.setWake(() => (woken = true));
    a!.outboundChannel(1, 0).send(batch(0, 1));
    await sleep(20);
    await a!.destroy();
    for (let i = 0; i < 100 && !b!.failure; i++) await tick();
    expect(woken).toBe(true);
    expect(inp.poll()?.kind).toBe('batch'); // data first
    expect(() => inp.poll()).toThrow(expect.objectContaining({ code: 'TRIB_NET_CONNECTION_LOST' }));
    expect(() => b!.outboundChannel(0, 0).writable).toThrow(
      expect.objectContaining({ code: 'TRIB_NET_CONNECTION_LOST' }),
    );
  });

  it('a process without the job secret cannot inject a frame: refused (auth), counted, nothing of the slot revealed', async () => {
    const a = plane(0, 2);
    const port = await a.listen();
    // The foreign process knows everything a pod label or the job spec shows (deployment id,
    // job hash, parallelism), only not the secret.
    const foreign = dial(
      `127.0.0.1:${port}`,
      { protocol: PROTOCOL_VERSION, deploymentId: 'dep-1', jobHash: 'h', fromSlot: 1, parallelism: 2, generation: 0 },
      dataPlaneKey('guessed'),
    );
    await expect(foreign).rejects.toMatchObject({
      code: 'TRIB_NET_REFUSED',
      message: expect.stringContaining('(auth)'),
    });
    // A raw client sends an unsigned HELLO (as the previous protocol did) with a DATA frame behind it.
    const got = await rawExchange(port, (nonce) =>
      Buffer.concat([
        jsonFrame(FRAME_HELLO, {
          protocol: PROTOCOL_VERSION,
          deploymentId: 'dep-1',
          jobHash: 'h',
          fromSlot: 1,
          parallelism: 2,
          generation: 0,
          nonce,
          mac: Buffer.alloc(32).toString('base64'),
        }),
        dataFrame(0, [batch(0, 1)]),
      ]),
    );
    expect(got.refusal).toMatchObject({ reason: 'auth', message: 'authentication failed' });
    expect(JSON.stringify(got.refusal)).not.toMatch(/dep-1|"h"/);
    expect(a.inbound.size).toBe(0);
    const refused = await a.metrics.refusedHandshakes.get();
    expect(refused.values.find((v) => v.labels['reason'] === 'auth')?.value).toBe(2);
  });

  it('a pre-handshake frame over 4 KiB is refused as soon as its length arrives (oversized), not buffered', async () => {
    const a = plane(0, 2);
    const port = await a.listen();
    const got = await rawExchange(port, () => {
      const head = Buffer.alloc(5 + 8 * 1024);
      head.writeUInt32BE(200 * 1024 * 1024, 0); // below the post-handshake limit of 256 MiB
      head[4] = FRAME_HELLO;
      return head;
    });
    expect(got.refusal).toMatchObject({ reason: 'oversized' });
    expect(got.closed).toBe(true);
    const refused = await a.metrics.refusedHandshakes.get();
    expect(refused.values.map((v) => v.labels['reason'])).toEqual(['oversized']);
  });

  it('a listener without the secret cannot pose as a slot: the dialer refuses its WELCOME', async () => {
    const impostor = plane(1, 2, { secret: 'other-secret' });
    const port = await impostor.listen();
    const hello = {
      protocol: PROTOCOL_VERSION,
      deploymentId: 'dep-1',
      jobHash: 'h',
      fromSlot: 0,
      parallelism: 2,
      generation: 0,
    };
    // The impostor refuses the HELLO (it cannot verify it), and a WELCOME it forged would not verify either.
    await expect(dial(`127.0.0.1:${port}`, hello, KEY)).rejects.toMatchObject({ code: 'TRIB_NET_REFUSED' });
  });
});

/** A raw TCP client: reads the CHALLENGE, writes `send(nonce)`, returns the REFUSE body (if any) once closed. */
async function rawExchange(
  port: number,
  send: (nonce: string) => Buffer,
): Promise<{ refusal: Record<string, unknown> | undefined; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder();
    let refusal: Record<string, unknown> | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server neither refused nor closed within 5 s'));
    }, 5000);
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const body = JSON.parse(f.body.toString('utf8')) as Record<string, unknown>;
        if (f.type === FRAME_CHALLENGE) socket.write(send(body['nonce'] as string));
        else if (f.type === FRAME_REFUSE) refusal = body;
        else if (f.type === FRAME_DATA) reject(new Error('the server sent data to an unauthenticated client'));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ refusal, closed: true });
    });
  });
}

describe('data plane over thread ports', () => {
  it('links every pair with the handshake and delivers records and in-band elements in order', async () => {
    const ps = [plane(0, 3), plane(1, 3), plane(2, 3)];
    const mesh = threadPortMesh(3);
    await Promise.all(ps.map((p, i) => p.connectPorts(mesh[i]!, 5000)));
    for (const p of ps) expect(p.connected).toBe(true);
    const out = ps[1]!.outboundChannel(2, 1);
    out.send(batch(0, 3));
    out.send({ kind: 'watermark', wm: 2 });
    out.send(batch(3, 2000)); // more than one frame
    out.send({ kind: 'end' });
    const inp = ps[2]!.inboundChannel(1, 1);
    const got: ChannelElement[] = [];
    for (let i = 0; i < 500 && got.at(-1)?.kind !== 'end'; i++) {
      await tick();
      for (let el = inp.poll(); el; el = inp.poll()) got.push(el);
    }
    expect(got.filter((e) => e.kind !== 'batch').map((e) => e.kind)).toEqual(['watermark', 'end']);
    const seqs = got.flatMap((e) => (e.kind === 'batch' ? e.batch.recs.map((r) => r['seq']) : []));
    expect(seqs).toEqual(Array.from({ length: 2003 }, (_, i) => i));
    expect(ps[2]!.inboundChannel(0, 1).poll()).toBeUndefined();
  });

  it('a thread without the job secret is refused at the handshake, as over TCP', async () => {
    const mesh = threadPortMesh(2);
    const a = plane(0, 2);
    const impostor = plane(1, 2, { secret: 'guessed' });
    const [ra, rb] = await Promise.allSettled([a.connectPorts(mesh[0]!, 1000), impostor.connectPorts(mesh[1]!, 1000)]);
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'TRIB_NET_REFUSED' } });
    expect(rb).toMatchObject({ status: 'rejected', reason: { code: 'TRIB_NET_REFUSED' } });
    expect(a.inbound.size + impostor.inbound.size).toBe(0);
    const refused = await a.metrics.refusedHandshakes.get();
    expect(refused.values.find((v) => v.labels['reason'] === 'auth')?.value).toBe(1);
  });

  it('a peer thread that links later than the handshake timeout still links (its wait is the connect timeout)', async () => {
    const quick = { handshakeTimeoutMs: 100 };
    const [a, b] = [plane(0, 2, quick), plane(1, 2, quick)];
    const mesh = threadPortMesh(2);
    const early = a.connectPorts(mesh[0]!, 5000);
    await new Promise((r) => setTimeout(r, 400));
    await Promise.all([early, b.connectPorts(mesh[1]!, 5000)]);
    expect(a.connected && b.connected).toBe(true);
  });

  it('a peer thread gone before linking fails the start at once, naming the port', async () => {
    const mesh = threadPortMesh(2);
    for (const p of [...mesh[1]!.outbound.values(), ...mesh[1]!.inbound.values()]) p.close();
    const t0 = Date.now();
    await expect(plane(0, 2).connectPorts(mesh[0]!, 5000)).rejects.toMatchObject({
      code: 'TRIB_NET_CONNECT',
      message: expect.stringContaining('thread:1'),
    });
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('a peer gone before end-of-input fails the consumer (TRIB_NET_CONNECTION_LOST)', async () => {
    const [a, b] = [plane(0, 2), plane(1, 2)];
    const mesh = threadPortMesh(2);
    await Promise.all([a.connectPorts(mesh[0]!, 5000), b.connectPorts(mesh[1]!, 5000)]);
    const inp = b.inboundChannel(0, 0);
    let woken = false;
    inp.setWake(() => (woken = true));
    a.outboundChannel(1, 0).send(batch(0, 1));
    await new Promise((r) => setTimeout(r, 20));
    await a.destroy();
    for (let i = 0; i < 100 && !b.failure; i++) await tick();
    expect(woken).toBe(true);
    expect(inp.poll()?.kind).toBe('batch');
    expect(() => inp.poll()).toThrow(expect.objectContaining({ code: 'TRIB_NET_CONNECTION_LOST' }));
  });

  it('after end-of-input both sides close cleanly: no failure, drain resolves', async () => {
    const [a, b] = [plane(0, 2), plane(1, 2)];
    const mesh = threadPortMesh(2);
    await Promise.all([a.connectPorts(mesh[0]!, 5000), b.connectPorts(mesh[1]!, 5000)]);
    for (const [p, to] of [
      [a, 1],
      [b, 0],
    ] as const)
      for (const c of [0, 1]) p.outboundChannel(to, c).send({ kind: 'end' });
    await Promise.all([a.drain(), b.drain()]);
    for (let i = 0; i < 50; i++) await tick();
    await Promise.all([a.close(), b.close()]);
    for (let i = 0; i < 50; i++) await tick();
    expect(a.failure).toBeUndefined();
    expect(b.failure).toBeUndefined();
  });
});
