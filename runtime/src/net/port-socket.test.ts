// PortSocket over real MessageChannels (and a real Worker for a terminated peer). DataPlanes
// linked over thread ports (connectPorts): data-plane.test.ts.
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PortSocket } from './port-socket.ts';

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
