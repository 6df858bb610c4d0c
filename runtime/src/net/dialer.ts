// The producer side of the handshake: connects to a peer's data server, sends HELLO and
// waits for WELCOME (the peer's slot) or REFUSE.
import { connect, type Socket } from 'node:net';
import { TributaryError } from '../errors.ts';
import { FRAME_HELLO, FRAME_REFUSE, FRAME_WELCOME, FrameDecoder, jsonFrame, type Frame } from './frame-codec.ts';
import { isWelcome, type Hello, type Welcome } from './handshake.ts';

export interface DialResult {
  socket: Socket;
  decoder: FrameDecoder;
  welcome: Welcome;
  /** Frames that arrived right behind the WELCOME (the initial credits). */
  leftover: Frame[];
}

export function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
    throw new TributaryError('TRIB_PEER_CONFIG', `peer address ${JSON.stringify(address)} is not host:port`);
  return { host, port };
}

/** Rejects with TRIB_NET_CONNECT (nobody listening, timeout) or TRIB_NET_REFUSED (with `reason` in the message). */
export function dial(address: string, hello: Hello, timeoutMs = 5000): Promise<DialResult> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const decoder = new FrameDecoder();
    let settled = false;
    const done = (e: Error | undefined, r?: DialResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      // Paused until the link attaches its reader: no chunk may be emitted to nobody.
      socket.pause();
      if (e) {
        socket.destroy();
        reject(e);
      } else resolve(r as DialResult);
    };
    const timer = setTimeout(
      () => done(new TributaryError('TRIB_NET_CONNECT', `handshake with ${address} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        done(e as Error);
        return;
      }
      const first = frames[0];
      if (!first) return;
      let body: unknown;
      try {
        body = JSON.parse(first.body.toString('utf8'));
      } catch {
        body = undefined;
      }
      if (first.type === FRAME_REFUSE) {
        const r = body as { reason?: string; message?: string } | undefined;
        done(
          new TributaryError(
            'TRIB_NET_REFUSED',
            `${address} refused the connection (${r?.reason ?? 'unknown'}): ${r?.message ?? ''}`,
          ),
        );
      } else if (first.type === FRAME_WELCOME && isWelcome(body)) {
        done(undefined, { socket, decoder, welcome: body, leftover: frames.slice(1) });
      } else
        done(
          new TributaryError('TRIB_NET_PROTOCOL', `${address} answered the handshake with frame type ${first.type}`),
        );
    };
    socket.on('data', onData);
    socket.on('connect', () => socket.write(jsonFrame(FRAME_HELLO, hello)));
    socket.on('error', (e) =>
      done(new TributaryError('TRIB_NET_CONNECT', `cannot connect to ${address}: ${e.message}`, { cause: e })),
    );
    socket.on('close', () =>
      done(new TributaryError('TRIB_NET_CONNECT', `${address} closed the connection during the handshake`)),
    );
  });
}
