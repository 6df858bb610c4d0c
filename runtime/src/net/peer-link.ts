// One TCP connection between a producer slot and a consumer slot, carrying every channel
// between them (multiplexed by channel id: one connection per ordered pair of slots, so
// p·(p−1) connections per job whatever the number of exchanges). DATA frames flow from the
// dialer (producer) to the server (consumer); CREDIT frames flow back on the same socket.
//
// A connection that closes or errors while one of its channels has not carried its
// end-of-input is a failure: the link records it, wakes the slots (their next poll or
// writability check throws it, which fails the slot and so the job) and rejects `drained`.
// The exception is a link `retire`d by either end (DataPlane.removePeer: the peer left the
// job's membership): the end that retires it sends BYE before ending its side, and an end that
// receives BYE retires its side too, so neither end counts the close as a failure. A close
// without BYE stays a failure whatever was announced elsewhere: an unannounced death fails the job.
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import {
  FRAME_BYE,
  FRAME_CONTROL,
  FRAME_CREDIT,
  FRAME_DATA,
  creditFrame,
  jsonFrame,
  decodeCredit,
  decodeData,
  type Frame,
  type FrameDecoder,
} from './frame-codec.ts';
import type { NetMetrics } from './net-metrics.ts';
import type { LinkStream } from './port-socket.ts';
import { InboundChannel, OutboundChannel, type InboundLinkPort, type OutboundLinkPort } from './tcp-channel.ts';

export interface LinkOptions {
  /** Remote channel ids 0..channels-1 (the same on both ends: derived from the plan). */
  channels: number;
  /** Credits (buffers) each inbound channel grants: the receiver's memory bound per channel. */
  credits: number;
  frameBytes: number;
  maxQueuedFrames: number;
  metrics: NetMetrics;
  logger: Logger;
  /** A CONTROL message from the peer slot (checkpoint RPC). */
  onControl?: (fromSlot: number, msg: unknown) => void;
  /** The peer slot retired this link (BYE): it left the membership. */
  onBye?: (peerSlot: number) => void;
}

/** How long a retired link waits for the peer to end its side before it destroys the connection. */
export const RETIRE_GRACE_MS = 5_000;

abstract class LinkBase {
  readonly peerSlot: number;
  protected readonly socket: LinkStream;
  protected readonly decoder: FrameDecoder;
  protected readonly opts: LinkOptions;
  failure: Error | undefined;
  private closedCleanly = false;
  /** BYE sent or received: the link carries nothing more and its close is not a failure. */
  retired = false;
  private socketClosed = false;
  private readonly failureWaiters: ((e: Error) => void)[] = [];
  private readonly closeWaiters: (() => void)[] = [];

  constructor(socket: LinkStream, decoder: FrameDecoder, peerSlot: number, opts: LinkOptions) {
    this.socket = socket;
    this.decoder = decoder;
    this.peerSlot = peerSlot;
    this.opts = opts;
  }

  protected listen(leftover: Frame[]): void {
    for (const f of leftover) this.onFrame(f);
    this.socket.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      this.onBytes(chunk.length);
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
        for (const f of frames) {
          if (f.type === FRAME_BYE) {
            this.byeReceived();
            return;
          }
          if (!this.retired) this.onFrame(f);
        }
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        this.socket.destroy();
      }
    });
    this.socket.on('error', (e) => this.onClose(e));
    this.socket.on('close', () => {
      this.socketClosed = true;
      for (const w of this.closeWaiters.splice(0)) w();
      this.onClose(undefined);
    });
    this.socket.resume();
  }

  /**
   * Ends the link on purpose (the peer left the membership): BYE, then this side's end. Whatever
   * was not yet written is dropped: the membership change comes after the peer's channels ended.
   */
  retire(): void {
    if (this.retired || this.failure) return;
    this.retired = true;
    this.closedCleanly = true;
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(jsonFrame(FRAME_BYE, {}));
    this.socket.end();
    // A peer that never ends its side (hung) must not keep the connection, or `closed()`, open.
    setTimeout(() => this.socket.destroy(), RETIRE_GRACE_MS).unref();
  }

  private byeReceived(): void {
    if (this.retired) return;
    this.retired = true;
    this.closedCleanly = true;
    this.opts.logger.info({ peer: this.peerSlot, link: this.describe() }, 'data-plane link retired by the peer');
    if (!this.socket.writableEnded) this.socket.end();
    this.opts.onBye?.(this.peerSlot);
  }

  /** Resolves once the connection closed (either end). */
  closed(): Promise<void> {
    return this.socketClosed ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }

  protected abstract onFrame(f: Frame): void;
  protected abstract onBytes(n: number): void;
  /** Every channel carried its end-of-input (and, outbound, everything was written). */
  abstract get complete(): boolean;
  protected abstract wakeAll(): void;

  private onClose(err: Error | undefined): void {
    if (this.failure || this.closedCleanly) return;
    if (this.complete) {
      this.closedCleanly = true;
      return;
    }
    this.fail(
      new TributaryError(
        'TRIB_NET_CONNECTION_LOST',
        `connection ${this.describe()} lost before end of input${err ? `: ${err.message}` : ''}`,
        { cause: err },
      ),
    );
  }

  protected fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.opts.logger.warn({ err: e.message, peer: this.peerSlot }, 'data-plane link failed');
    for (const w of this.failureWaiters.splice(0)) w(e);
    this.wakeAll();
  }

  protected onFailure(cb: (e: Error) => void): void {
    if (this.failure) cb(this.failure);
    else this.failureWaiters.push(cb);
  }

  abstract describe(): string;

  close(): void {
    if (this.retired) return;
    this.closedCleanly = this.closedCleanly || this.complete;
    this.socket.end();
  }

  destroy(): void {
    this.closedCleanly = true;
    this.socket.destroy();
  }
}

/**
 * An open frame's longest wait for more elements (Flink's buffer timeout, 100 ms there). Sealed
 * per event-loop turn instead, a source that emits a record per turn (a rate-limited generator, a
 * trickle from Kafka) sent one frame per record — ~700 frames a second per channel at 1,000
 * records/s, the data plane then most of a slot's CPU (docs/runtime/distributed.md). Full frames
 * (frameBytes) and end-of-input go at once, so a busy channel never waits; a quiet one adds at
 * most this to a record's latency per hop.
 */
export const FLUSH_LINGER_MS = 10;

/** Producer side: owns the outbound channels to one consumer slot. */
export class OutboundLink extends LinkBase implements OutboundLinkPort {
  readonly channels: OutboundChannel[] = [];
  private corked = false;
  private flushQueue: OutboundChannel[] = [];
  private flushScheduled = false;
  private readonly toLabel: string;

  constructor(socket: LinkStream, decoder: FrameDecoder, peerSlot: number, opts: LinkOptions, leftover: Frame[]) {
    super(socket, decoder, peerSlot, opts);
    this.toLabel = String(peerSlot);
    const backpressure = opts.metrics.backpressuredSeconds.labels(this.toLabel);
    for (let c = 0; c < opts.channels; c++) {
      this.channels.push(
        new OutboundChannel(c, this, {
          frameBytes: opts.frameBytes,
          maxQueuedFrames: opts.maxQueuedFrames,
          onBackpressure: (s) => backpressure.inc(s),
        }),
      );
    }
    this.listen(leftover);
  }

  describe(): string {
    return `to slot ${this.peerSlot}`;
  }

  write(frame: Buffer): void {
    if (this.retired) return; // the peer left: nothing more goes to it
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.opts.metrics.bytesSent.labels(this.toLabel).inc(frame.length);
    this.opts.metrics.framesSent.labels(this.toLabel).inc();
    this.socket.write(frame);
  }

  /** Sends a CONTROL message to the peer; not subject to credit. False when the link is down. */
  sendControl(msg: unknown): boolean {
    if (this.failure || this.retired || this.socket.destroyed || this.socket.writableEnded) return false;
    this.write(jsonFrame(FRAME_CONTROL, msg));
    return true;
  }

  scheduleFlush(ch: OutboundChannel): void {
    this.flushQueue.push(ch);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      const q = this.flushQueue;
      this.flushQueue = [];
      for (const c of q) c.flush();
    }, FLUSH_LINGER_MS);
  }

  protected onBytes(): void {}

  protected onFrame(f: Frame): void {
    if (f.type !== FRAME_CREDIT)
      throw new TributaryError(
        'TRIB_NET_PROTOCOL',
        `unexpected frame type ${f.type} from consumer slot ${this.peerSlot}`,
      );
    const { channel, credits } = decodeCredit(f.body);
    const ch = this.channels[channel];
    if (!ch)
      throw new TributaryError('TRIB_NET_PROTOCOL', `credit for unknown channel ${channel} from slot ${this.peerSlot}`);
    ch.grant(credits);
    let queued = 0;
    for (const c of this.channels) queued += c.gate.queued;
    this.opts.metrics.queuedFrames.labels(this.toLabel).set(queued);
  }

  get complete(): boolean {
    return this.channels.every((c) => c.complete);
  }

  protected wakeAll(): void {
    for (const c of this.channels) c.notify();
  }

  /** Resolves once every channel sent its end and the socket handed every byte to the OS. */
  drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.onFailure(reject);
      const check = (): void => {
        if (this.failure) return;
        if (this.complete && this.socket.writableLength === 0) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
  }
}

/** Consumer side: owns the inbound channels from one producer slot and grants their credits. */
export class InboundLink extends LinkBase implements InboundLinkPort {
  readonly channels: InboundChannel[] = [];
  private readonly pendingCredit: number[];
  private creditScheduled = false;
  private readonly fromLabel: string;

  constructor(socket: LinkStream, decoder: FrameDecoder, peerSlot: number, opts: LinkOptions, leftover: Frame[]) {
    super(socket, decoder, peerSlot, opts);
    this.fromLabel = String(peerSlot);
    for (let c = 0; c < opts.channels; c++) this.channels.push(new InboundChannel(c, this));
    this.pendingCredit = this.channels.map(() => 0);
    // Initial credit: every channel may have `credits` frames in flight.
    for (let c = 0; c < opts.channels; c++) socket.write(creditFrame(c, opts.credits));
    this.listen(leftover);
  }

  describe(): string {
    return `from slot ${this.peerSlot}`;
  }

  returnCredit(channel: number): void {
    this.pendingCredit[channel] = (this.pendingCredit[channel] as number) + 1;
    if (this.creditScheduled) return;
    this.creditScheduled = true;
    setImmediate(() => {
      this.creditScheduled = false;
      if (this.failure || this.retired || this.socket.destroyed) return;
      this.socket.cork();
      for (let c = 0; c < this.pendingCredit.length; c++) {
        const n = this.pendingCredit[c] as number;
        if (n > 0) {
          this.pendingCredit[c] = 0;
          this.socket.write(creditFrame(c, n));
        }
      }
      this.socket.uncork();
    });
  }

  protected onBytes(n: number): void {
    this.opts.metrics.bytesReceived.labels(this.fromLabel).inc(n);
  }

  protected onFrame(f: Frame): void {
    if (f.type === FRAME_CONTROL) {
      this.opts.onControl?.(this.peerSlot, JSON.parse(f.body.toString('utf8')));
      return;
    }
    if (f.type !== FRAME_DATA)
      throw new TributaryError(
        'TRIB_NET_PROTOCOL',
        `unexpected frame type ${f.type} from producer slot ${this.peerSlot}`,
      );
    const { channel, elements } = decodeData(f.body);
    const ch = this.channels[channel];
    if (!ch)
      throw new TributaryError('TRIB_NET_PROTOCOL', `data for unknown channel ${channel} from slot ${this.peerSlot}`);
    ch.deliver(elements);
    if (ch.framesHeld > this.opts.credits)
      throw new TributaryError(
        'TRIB_NET_PROTOCOL',
        `slot ${this.peerSlot} sent beyond its credit on channel ${channel}`,
      );
  }

  get complete(): boolean {
    return this.channels.every((c) => c.endReceived);
  }

  protected wakeAll(): void {
    for (const c of this.channels) c.notify();
  }
}
