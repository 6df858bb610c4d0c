// The two ends of a channel that crosses processes. Both implement exec's Channel, so tasks,
// exchanges and gates do not know whether a peer is in memory or across TCP.
//
// OutboundChannel (producer process): elements are appended to the channel's open DATA frame;
// the frame is sealed once it reaches `frameBytes`, when the link's flush linger since its first
// element ends (a flush scheduled by the link), or at once for end-of-input. Sealed frames go out only
// with credit (CreditGate). `writable` turns false once `maxQueuedFrames` frames wait for
// credit, so a slow consumer stops the producing task: memory per channel stays bounded by
// maxQueuedFrames + 1 frames on the sender plus the receiver's credits.
//
// InboundChannel (consumer process): holds decoded elements of at most `credits` frames (the
// sender never exceeds the credit granted). When the task polls the last element of a frame,
// the frame's buffer is free again and one credit goes back to the sender.
import type { Channel, ChannelElement } from '../core/channel.ts';
import { Fifo } from '../fifo.ts';
import { TributaryError } from '../errors.ts';
import { CreditGate } from './credit-gate.ts';
import { ByteWriter, FRAME_DATA, beginFrame, endFrame, writeElement } from './frame-codec.ts';

export interface OutboundLinkPort {
  /** Writes a complete frame to the socket. */
  write(frame: Buffer): void;
  /** Asks for `flush()` on the channel once the link's flush linger has passed. */
  scheduleFlush(ch: OutboundChannel): void;
  /** Set when the connection failed: sends and writability checks throw it. */
  readonly failure: Error | undefined;
}

export interface OutboundOptions {
  frameBytes: number;
  maxQueuedFrames: number;
  /** Called with the seconds spent unwritable each time the channel becomes writable again. */
  onBackpressure?: (seconds: number) => void;
}

const MAX_ELEMENTS_PER_FRAME = 0xffff;

export class OutboundChannel implements Channel {
  readonly id: number;
  readonly gate = new CreditGate();
  private readonly link: OutboundLinkPort;
  private readonly opts: OutboundOptions;
  private readonly w = new ByteWriter(16 * 1024);
  private frameStart = -1;
  private count = 0;
  private flushScheduled = false;
  private blockedSince = 0;
  private wake: () => void = () => {};
  private project: readonly string[] | undefined;
  /** True once end-of-input was sealed; the channel is complete when it also has nothing queued. */
  endSent = false;

  constructor(id: number, link: OutboundLinkPort, opts: OutboundOptions) {
    this.id = id;
    this.link = link;
    this.opts = opts;
  }

  /** The fields of each record to send, when the consumer reads only those (graph/exchange-projection.ts). */
  setProjection(fields: readonly string[] | undefined): void {
    this.project = fields;
  }

  /** The producing slot's wake-up: called when credit makes the channel writable again. */
  setWake(wake: () => void): void {
    this.wake = wake;
  }

  /** Wakes the producing slot (link failure: its next writability check throws). */
  notify(): void {
    this.wake();
  }

  get writable(): boolean {
    const f = this.link.failure;
    if (f) throw f;
    const ok = this.gate.queued < this.opts.maxQueuedFrames;
    if (!ok && this.blockedSince === 0) this.blockedSince = performance.now();
    return ok;
  }

  /** Everything sent, including end-of-input. */
  get complete(): boolean {
    return this.endSent && this.frameStart < 0 && this.gate.queued === 0;
  }

  send(el: ChannelElement): void {
    const f = this.link.failure;
    if (f) throw f;
    if (this.frameStart < 0) {
      this.frameStart = beginFrame(this.w, FRAME_DATA);
      this.w.u16(this.id);
      this.w.u16(0); // element count, patched when sealed
      this.count = 0;
    }
    writeElement(this.w, el, this.project);
    this.count++;
    if (el.kind === 'end') {
      this.seal();
      this.endSent = true;
      return;
    }
    if (this.w.pos - this.frameStart >= this.opts.frameBytes || this.count === MAX_ELEMENTS_PER_FRAME) this.seal();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.link.scheduleFlush(this);
    }
  }

  /** A producer never reads its own channel. */
  poll(): ChannelElement | undefined {
    return undefined;
  }

  /** Seals the open frame (the link's flush linger has passed). */
  flush(): void {
    this.flushScheduled = false;
    if (this.frameStart >= 0) this.seal();
  }

  private seal(): void {
    this.w.buf.writeUInt16BE(this.count, this.frameStart + 5 + 2);
    endFrame(this.w, this.frameStart);
    this.frameStart = -1;
    this.gate.enqueue(this.w.take());
    this.pump();
  }

  /** Credits granted by the receiver. */
  grant(n: number): void {
    this.gate.grant(n);
    this.pump();
  }

  private pump(): void {
    const wasBlocked = this.gate.queued >= this.opts.maxQueuedFrames;
    this.gate.drain((f) => this.link.write(f));
    if (wasBlocked && this.gate.queued < this.opts.maxQueuedFrames) {
      if (this.blockedSince > 0) {
        this.opts.onBackpressure?.((performance.now() - this.blockedSince) / 1000);
        this.blockedSince = 0;
      }
      this.wake();
    }
  }
}

export interface InboundLinkPort {
  /** One frame of `channel` was consumed: its credit goes back to the sender (coalesced). */
  returnCredit(channel: number): void;
  readonly failure: Error | undefined;
}

export class InboundChannel implements Channel {
  readonly id: number;
  readonly writable = true;
  private readonly link: InboundLinkPort;
  private readonly queue = new Fifo<ChannelElement>();
  /** Per queued element: whether it is the last of its frame (its consumption returns a credit). */
  private readonly last = new Fifo<boolean>();
  private wake: () => void = () => {};
  /** Frames held (received, not fully consumed): never above the credits granted. */
  framesHeld = 0;
  endReceived = false;

  constructor(id: number, link: InboundLinkPort) {
    this.id = id;
    this.link = link;
  }

  /** The consuming slot's wake-up. Elements that arrived before are announced at once. */
  setWake(wake: () => void): void {
    this.wake = wake;
    if (this.queue.size > 0) wake();
  }

  /** Wakes the consuming slot (link failure: its next poll throws). */
  notify(): void {
    this.wake();
  }

  send(): void {
    throw new TributaryError('TRIB_NET_PROTOCOL', `inbound channel ${this.id} cannot be written`);
  }

  deliver(elements: ChannelElement[]): void {
    if (elements.length === 0) {
      this.link.returnCredit(this.id);
      return;
    }
    this.framesHeld++;
    for (let i = 0; i < elements.length; i++) {
      const el = elements[i] as ChannelElement;
      this.queue.push(el);
      this.last.push(i === elements.length - 1);
      if (el.kind === 'end') this.endReceived = true;
    }
    this.wake();
  }

  poll(): ChannelElement | undefined {
    const el = this.queue.shift();
    if (el === undefined) {
      // Data first: a connection that failed after delivering everything ends cleanly.
      const f = this.link.failure;
      if (f && !this.endReceived) throw f;
      return undefined;
    }
    if (this.last.shift() === true) {
      this.framesHeld--;
      this.link.returnCredit(this.id);
    }
    return el;
  }
}
