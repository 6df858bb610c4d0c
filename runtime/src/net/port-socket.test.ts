// The data plane between slot threads: PortSocket over real MessageChannels (and a real Worker
// for a terminated peer), and DataPlanes linked with connectPorts.
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelElement } from '../exec/channel.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { DataPlane, type DataPlaneOptions } from './data-plane.ts';
import { PortSocket, threadPortMesh } from './port-socket.ts';

const planes: DataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.destroy()));
});

function plane(slot: number, parallelism: number, extra: Partial<DataPlaneOptions> = {}): DataPlane {
  const p = new DataPlane({
    identity: { deploymentId: 'dep-1', jobHash: 'h', slot, parallelism },
    secret: 'job-secret',
    host: '127.0.0.1',
    port: 0,
    channels: 2,
    logger: silentLogger(),
    ...extra,
  });
  planes.push(p);
  return p;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function batch(from: number, n: number): ChannelElement {
  const recs = Array.from({ length: n }, (_, i) => ({ seq: from + i, pad: 'x'.repeat(40) }));
  return { kind: 'batch', batch: { recs, ts: recs.map((r) => r.seq), keys: [], kgs: [], n } };
}

function collect(s: PortSocket): { bytes: Buffer[]; ended: Promise<boolean> } {
  const bytes: Buffer[] = [];
  let sawEnd = false;
  s.on('data', (b: Buffer) => bytes.push(b));
  s.on('end', () => (sawEnd = true));
  s.on('error', () => {});
  return { bytes, ended: once(s, 'close').then(() => sawEnd) };
}

describe('PortSocket', () => {
  it('carries writes in order: a buffer that is its whole allocation moves, pool slices are copied', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = new PortSocket(port1, 'thread:1');
    const b = new PortSocket(port2, 'thread:0');
    const got = collect(b);
    a.resume(); // reads b's end when it comes, as a link does: only then does `a` close
    const frame = Buffer.allocUnsafeSlow(16 * 1024).fill(7); // its own ArrayBuffer, like a sealed DATA frame
    const small = Buffer.from('credit'); // a slice of Node's shared pool
    a.cork();
    a.write(small);
    a.write(frame);
    a.write(Buffer.from('tail'));
    a.uncork();
    a.end();
    expect(await got.ended).toBe(true);
    const all = Buffer.concat(got.bytes);
    expect(all.length).toBe(6 + 16 * 1024 + 4);
    expect(all.subarray(0, 6).toString()).toBe('credit');
    expect(all.subarray(6, 6 + 16 * 1024).every((x) => x === 7)).toBe(true);
    expect(all.subarray(-4).toString()).toBe('tail');
    // Moved: the sender's frame is detached; the pool slice is intact.
    expect(frame.length).toBe(0);
    expect(small.toString()).toBe('credit');
    await once(a, 'close');
  });

  it('a peer thread that is terminated closes this side without an end (a lost connection)', async () => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       workerData.port.on('message', () => {});
       workerData.port.postMessage([new Uint8Array([1, 2, 3]).buffer]);`,
      { eval: true, workerData: { port: port2 }, transferList: [port2] },
    );
    const s = new PortSocket(port1, 'thread:1');
    const got = collect(s);
    for (let i = 0; i < 500 && got.bytes.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect([...Buffer.concat(got.bytes)]).toEqual([1, 2, 3]);
    await worker.terminate();
    expect(await got.ended).toBe(false);
  });

  it('after the peer ended and closed, a paused reader still gets every byte and the end', async () => {
    const { port1, port2 } = new MessageChannel();
    const s = new PortSocket(port2, 'thread:0');
    s.pause();
    const got = collect(s);
    s.pause(); // collect's 'data' listener resumed it
    port1.postMessage([new Uint8Array([4, 5, 6]).buffer]);
    port1.postMessage(0); // the end marker
    port1.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(got.bytes).toHaveLength(0);
    s.resume();
    expect(await got.ended).toBe(true);
    expect([...Buffer.concat(got.bytes)]).toEqual([4, 5, 6]);
  });

  it('a frame written again after its bytes moved fails the socket (TRIB_NET_PROTOCOL), not silently', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = new PortSocket(port1, 'thread:1');
    const b = new PortSocket(port2, 'thread:0');
    collect(b);
    const frame = Buffer.allocUnsafeSlow(8192).fill(1);
    a.write(frame);
    const err = once(a, 'error');
    a.write(frame);
    const [e] = (await err) as [Error & { code?: string }];
    expect(e.code).toBe('TRIB_NET_PROTOCOL');
    expect(e.message).toContain('thread:1');
  });

  it('a message that is not bytes destroys the socket with TRIB_NET_PROTOCOL naming the peer', async () => {
    const { port1, port2 } = new MessageChannel();
    const s = new PortSocket(port1, 'thread:3');
    const err = once(s, 'error');
    port2.postMessage({ not: 'bytes' });
    const [e] = (await err) as [Error & { code?: string }];
    expect(e.code).toBe('TRIB_NET_PROTOCOL');
    expect(e.message).toContain('thread:3');
    port2.close();
  });
});

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
