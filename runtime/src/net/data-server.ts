// The consumer side of the data plane: listens on this slot's address, runs the handshake on
// each inbound connection (CHALLENGE → HELLO → WELCOME | REFUSE, handshake.ts) and hands
// accepted connections to an InboundLink. Binds to one address only (the pod IP, or loopback
// locally). Before the peer is authenticated a frame may not exceed MAX_HANDSHAKE_FRAME_BYTES;
// every refusal (and a handshake that times out) is counted by reason.
import { Socket, createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import { TributaryError, isTributaryError } from '../errors.ts';
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
  checkHello,
  newNonce,
  signWelcome,
  type Challenge,
  type Hello,
  type Identity,
} from './handshake.ts';
import type { Membership } from './membership.ts';
import type { LinkStream } from './port-socket.ts';
import type { NetMetrics } from './net-metrics.ts';

export interface AcceptedConnection {
  socket: LinkStream;
  decoder: FrameDecoder;
  hello: Hello;
  /** Frames that arrived with the HELLO (none in this protocol version, kept for safety). */
  leftover: Frame[];
}

export interface DataServerOptions {
  host: string;
  port: number;
  identity: Identity;
  /** The generations whose members this slot accepts (live rescale: prepared ones too). */
  members: Membership;
  /** The handshake key (dataPlaneKey of the job's secret). */
  key: Buffer;
  metrics: NetMetrics;
  logger: Logger;
  /** Slots whose connection was already accepted (duplicates are refused). */
  connected: () => ReadonlySet<number>;
  onAccept: (c: AcceptedConnection) => void;
  handshakeTimeoutMs?: number;
}

export class DataServer {
  private readonly server: Server;
  private readonly opts: DataServerOptions;
  private readonly pending = new Set<LinkStream>();

  constructor(opts: DataServerOptions) {
    this.opts = opts;
    this.server = createServer((s) => this.accept(s));
  }

  /** Binds; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void =>
        reject(
          new TributaryError(
            'TRIB_NET_BIND',
            `data plane cannot listen on ${this.opts.host}:${this.opts.port}: ${e.message}`,
            { cause: e },
          ),
        );
      this.server.once('error', onError);
      this.server.listen({ host: this.opts.host, port: this.opts.port, exclusive: true }, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : this.opts.port);
      });
    });
  }

  /**
   * Runs the server's side of the handshake on a connection (accepted here, or a thread's port,
   * whose peer may start later than a dialing pod: `handshakeTimeoutMs` then overrides).
   */
  accept(socket: LinkStream, handshakeTimeoutMs = this.opts.handshakeTimeoutMs ?? 10_000): void {
    if (socket instanceof Socket) socket.setNoDelay(true);
    this.pending.add(socket);
    const decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME_BYTES);
    const log = this.opts.logger;
    const nonce = newNonce();
    const timer = setTimeout(() => {
      this.opts.metrics.refusedHandshakes.labels('timeout').inc();
      log.warn({ remote: socket.remoteAddress }, 'data-plane handshake timed out');
      socket.destroy();
    }, handshakeTimeoutMs);
    const refuse = (reason: string, message: string): void => {
      this.opts.metrics.refusedHandshakes.labels(reason).inc();
      log.warn(
        {
          remote:
            socket.remotePort === undefined ? socket.remoteAddress : `${socket.remoteAddress}:${socket.remotePort}`,
          reason,
          message,
        },
        'data-plane connection refused',
      );
      socket.end(jsonFrame(FRAME_REFUSE, { code: 'TRIB_NET_REFUSED', reason, message }));
    };
    const onData = (chunk: Buffer): void => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        clearTimeout(timer);
        socket.off('data', onData);
        refuse(
          isTributaryError(e) && e.code === 'TRIB_NET_FRAME_TOO_LARGE' ? 'oversized' : 'malformed',
          (e as Error).message,
        );
        return;
      }
      const first = frames[0];
      if (!first) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause(); // until the link attaches its reader
      this.pending.delete(socket);
      let hello: unknown;
      try {
        if (first.type !== FRAME_HELLO)
          throw new TributaryError('TRIB_NET_PROTOCOL', `first frame has type ${first.type}, expected HELLO`);
        hello = JSON.parse(first.body.toString('utf8'));
      } catch (e) {
        refuse('malformed', (e as Error).message);
        return;
      }
      const refusal = checkHello(
        hello,
        this.opts.key,
        nonce,
        { deploymentId: this.opts.identity.deploymentId, members: this.opts.members },
        this.opts.connected(),
      );
      if (refusal) {
        refuse(refusal.reason, refusal.message);
        return;
      }
      decoder.maxFrameBytes = MAX_FRAME_BYTES;
      socket.write(jsonFrame(FRAME_WELCOME, signWelcome(this.opts.key, nonce, hello as Hello, this.opts.identity)));
      this.opts.onAccept({ socket, decoder, hello: hello as Hello, leftover: frames.slice(1) });
    };
    socket.on('data', onData);
    const challenge: Challenge = { protocol: PROTOCOL_VERSION, nonce };
    socket.write(jsonFrame(FRAME_CHALLENGE, challenge));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
  }

  close(): Promise<void> {
    for (const s of this.pending) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
