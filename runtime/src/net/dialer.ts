// The producer side of the handshake (handshake.ts): connects to a peer's data server, answers
// its CHALLENGE with a signed HELLO and waits for a WELCOME signed with the same key (the
// peer's slot) or REFUSE. Until the WELCOME is verified a frame may not exceed
// MAX_HANDSHAKE_FRAME_BYTES: a listener without the job's secret gets nothing and can make
// this slot buffer nothing.
import { connect } from 'node:net';
import { TributaryError } from '../errors.ts';
import {
  FRAME_CHALLENGE,
  FRAME_HELLO,
  FRAME_REFUSE,
  FRAME_WELCOME,
  FrameDecoder,
  MAX_FRAME_BYTES,
  MAX_HANDSHAKE_FRAME_BYTES,
  jsonFrame,
  type Frame,
} from './frame-codec.ts';
import {
  PROTOCOL_VERSION,
  isChallenge,
  isWelcome,
  signHello,
  verifyWelcome,
  type Hello,
  type UnsignedHello,
  type Welcome,
} from './handshake.ts';
import type { LinkStream } from './port-socket.ts';

export interface DialResult {
  socket: LinkStream;
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

/**
 * Rejects with TRIB_NET_CONNECT (nobody listening, timeout), TRIB_NET_REFUSED (with `reason` in the message) or
 * TRIB_NET_PROTOCOL (the peer does not speak the protocol or could not prove the job's key).
 */
export function dial(address: string, unsigned: UnsignedHello, key: Buffer, timeoutMs = 5000): Promise<DialResult> {
  const { host, port } = parseAddress(address);
  return dialOver(connect({ host, port, noDelay: true }), address, unsigned, key, timeoutMs);
}

/** The dialer's handshake over a connection already open (`address` names the peer in errors). */
export function dialOver(
  socket: LinkStream,
  address: string,
  unsigned: UnsignedHello,
  key: Buffer,
  timeoutMs = 5000,
): Promise<DialResult> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME_BYTES);
    let challenge: string | undefined;
    let hello: Hello | undefined;
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
      if (challenge === undefined && frames[0]?.type === FRAME_CHALLENGE) {
        let c: unknown;
        try {
          c = JSON.parse((frames.shift() as Frame).body.toString('utf8'));
        } catch {
          c = undefined;
        }
        if (!isChallenge(c) || c.protocol !== PROTOCOL_VERSION) {
          done(
            new TributaryError(
              'TRIB_NET_PROTOCOL',
              `${address} sent a challenge of another protocol (this slot speaks ${PROTOCOL_VERSION})`,
            ),
          );
          return;
        }
        challenge = c.nonce;
        hello = signHello(key, c, unsigned);
        socket.write(jsonFrame(FRAME_HELLO, hello));
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
      } else if (first.type === FRAME_WELCOME && isWelcome(body) && hello && challenge !== undefined) {
        if (!verifyWelcome(key, challenge, hello, body)) {
          done(new TributaryError('TRIB_NET_PROTOCOL', `${address} could not prove the job's key in its WELCOME`));
          return;
        }
        // The peer accepted this slot as a member of the generation it claimed, and is one itself.
        if (
          body.generation !== hello.generation ||
          body.parallelism !== hello.parallelism ||
          !Number.isInteger(body.slot) ||
          body.slot < 0 ||
          body.slot >= hello.parallelism
        ) {
          done(
            new TributaryError(
              'TRIB_NET_PROTOCOL',
              `${address} welcomed slot ${body.slot} at generation ${body.generation} (parallelism ${body.parallelism}), not as a member of generation ${hello.generation} (parallelism ${hello.parallelism})`,
            ),
          );
          return;
        }
        decoder.maxFrameBytes = MAX_FRAME_BYTES;
        done(undefined, { socket, decoder, welcome: body, leftover: frames.slice(1) });
      } else
        done(
          new TributaryError('TRIB_NET_PROTOCOL', `${address} answered the handshake with frame type ${first.type}`),
        );
    };
    socket.on('data', onData);
    socket.on('error', (e) =>
      done(new TributaryError('TRIB_NET_CONNECT', `cannot connect to ${address}: ${e.message}`, { cause: e })),
    );
    socket.on('close', () =>
      done(new TributaryError('TRIB_NET_CONNECT', `${address} closed the connection during the handshake`)),
    );
  });
}
