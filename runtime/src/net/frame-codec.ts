// Wire format of the TCP data plane. Every frame is length-prefixed:
//
//   u32 BE  length L of the rest of the frame (type byte + body), L ≤ MAX_FRAME_BYTES
//   u8      frame type
//   …       body
//
// Frame types:
//   CHALLENGE (7) UTF-8 JSON Challenge       server → dialer, first frame of a connection
//   HELLO   (1)  UTF-8 JSON Hello            dialer → server, answers the challenge (handshake.ts)
//   WELCOME (2)  UTF-8 JSON Welcome          server → dialer, handshake accepted
//   REFUSE  (3)  UTF-8 JSON {code, message}  server → dialer, then the server closes
//   DATA    (4)  u16 channel, u16 count, `count` elements           producer → consumer
//   CREDIT  (5)  u16 channel, u32 buffers granted                   consumer → producer
//   CONTROL (6)  UTF-8 JSON message                                  producer → consumer
//                (checkpoint RPC between slots; small and rare, so outside credit accounting)
//   BYE     (8)  UTF-8 JSON {}, then the sender ends its side         either way, after the handshake
//                (the peer was removed from the job's membership: the close that follows is no failure)
//
// Element encodings inside DATA:
//   tag 0 = record batch:  u32 n, u8 flags (bit 0: keyed, bit 1: origins), n × f64 LE timestamps,
//           keyed only: n × i32 LE key groups, u32 len + JSON array of key strings,
//           u32 len + JSON array of the n records (bit 2, records holding a BigInt — a typed
//           format's integer, core/json-text.ts —: u32 len + v8.serialize of the array instead,
//           which keeps BigInt apart from a double of the same value),
//           origins only: the records' origins (origin-codec.ts). Bit 1 is set only by an
//           exchange that passes origins on (graph/origin-exchanges.ts); a frame without it is
//           the format before origins crossed exchanges, byte for byte. Other bits are refused.
//   tag 1 = any other in-band element (watermark, idle, end, checkpoint barriers, …):
//           u32 len + JSON of the element object. Non-finite numbers are tagged so they
//           survive JSON. A new element kind needs no change here.
//
// Until the handshake authenticated the peer, a frame may not exceed MAX_HANDSHAKE_FRAME_BYTES:
// an unauthenticated peer cannot make a slot buffer more than that.
//
// One DATA frame is one credit (one "buffer" in Flink's terms), whatever it holds.
import v8 from 'node:v8';
import type { ChannelElement } from '../core/channel.ts';
import { holdsBigint } from '../core/json-text.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import { readOrigins, writeOrigins } from './origin-codec.ts';

export const FRAME_HELLO = 1;
export const FRAME_WELCOME = 2;
export const FRAME_REFUSE = 3;
export const FRAME_DATA = 4;
export const FRAME_CREDIT = 5;
export const FRAME_CONTROL = 6;
export const FRAME_CHALLENGE = 7;
export const FRAME_BYE = 8;

/** A frame larger than this is a protocol error (corrupt stream or a foreign client). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** The limit before the peer is authenticated: handshake frames are a few hundred bytes. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4 * 1024;
const TAG_BATCH = 0;
const TAG_EVENT = 1;
const FLAG_KEYED = 1;
const FLAG_ORIGINS = 2;
const FLAG_V8 = 4;
const NONFINITE = '__trib_nonfinite__';

/** Appends bytes to a growing buffer; frames are built in place without intermediate copies. */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** u32 byte length + the bytes. */
  blob(b: Uint8Array): void {
    this.ensure(4 + b.length);
    this.buf.writeUInt32BE(b.length, this.pos);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }

  /** u32 byte length + UTF-8 string. */
  str(s: string): void {
    const len = Buffer.byteLength(s);
    this.ensure(4 + len);
    this.buf.writeUInt32BE(len, this.pos);
    this.buf.write(s, this.pos + 4, len, 'utf8');
    this.pos += 4 + len;
  }

  /**
   * Takes the written bytes (a copy: the writer is reused) and resets. From 4 KiB on the copy
   * has an ArrayBuffer of its own, not a slice of Node's shared pool (which serves up to 32 KiB),
   * so a thread's data plane can move the frame to its peer instead of copying it
   * (port-socket.ts); smaller ones stay in the pool, cheaper to allocate than to move.
   */
  take(): Buffer {
    const n = this.pos;
    this.pos = 0;
    if (n < 4096) return Buffer.from(this.buf.subarray(0, n));
    const out = Buffer.allocUnsafeSlow(n);
    this.buf.copy(out, 0, 0, n);
    return out;
  }
}

function eventReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return { [NONFINITE]: String(v) };
  return v;
}

function eventReviver(_k: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && NONFINITE in v) return Number((v as Record<string, string>)[NONFINITE]);
  return v;
}

/**
 * Appends one element (tag + body) to `w`. `project`: the only fields of each record to send
 * (graph/exchange-projection.ts); a field a record lacks stays absent.
 */
export function writeElement(w: ByteWriter, el: ChannelElement, project?: readonly string[]): void {
  if (el.kind === 'batch') {
    const b = el.batch;
    const n = b.n;
    const keyed = b.keys.length > 0;
    const origins = b.origins;
    const recs = b.recs.length === n ? b.recs : b.recs.slice(0, n);
    const sent = project ? projected(recs, project) : recs;
    // JSON unless a record holds a BigInt (JSON.stringify refuses it: the fast path costs nothing).
    let json: string | undefined;
    try {
      json = JSON.stringify(sent);
    } catch (e) {
      if (!holdsBigint(sent)) throw e;
    }
    w.ensure(1 + 4 + 1 + n * (keyed ? 12 : 8));
    const buf = w.buf;
    let p = w.pos;
    buf[p++] = TAG_BATCH;
    buf.writeUInt32BE(n, p);
    p += 4;
    buf[p++] =
      (keyed ? FLAG_KEYED : 0) | (origins !== undefined ? FLAG_ORIGINS : 0) | (json === undefined ? FLAG_V8 : 0);
    // Typed-array bulk copies (host order; little-endian on every platform Node supports here).
    const f64 = new Float64Array(n);
    const ts = b.ts;
    for (let i = 0; i < n; i++) f64[i] = ts[i] as number;
    buf.set(new Uint8Array(f64.buffer), p);
    p += n * 8;
    if (keyed) {
      const i32 = new Int32Array(n);
      const kgs = b.kgs;
      for (let i = 0; i < n; i++) i32[i] = kgs[i] as number;
      buf.set(new Uint8Array(i32.buffer), p);
      p += n * 4;
    }
    w.pos = p;
    if (keyed) w.str(JSON.stringify(b.keys.length === n ? b.keys : b.keys.slice(0, n)));
    if (json !== undefined) w.str(json);
    else w.blob(v8.serialize(sent));
    if (origins !== undefined) writeOrigins(w, origins, n);
    return;
  }
  w.u8(TAG_EVENT);
  w.str(JSON.stringify(el, eventReplacer));
}

function projected(recs: readonly Rec[], fields: readonly string[]): Rec[] {
  const out = new Array<Rec>(recs.length);
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i] as Rec;
    // A string or number record (the TypeScript API's) crosses whole: its consumer reads it as is.
    if (r === null || typeof r !== 'object') {
      out[i] = r;
      continue;
    }
    const p: Rec = {};
    for (const f of fields) if (f in r) p[f] = r[f];
    out[i] = p;
  }
  return out;
}

/** Starts a frame in `w`; returns the position to pass to `endFrame`. */
export function beginFrame(w: ByteWriter, type: number): number {
  const start = w.pos;
  w.ensure(5);
  w.pos += 4;
  w.buf[w.pos++] = type;
  return start;
}

export function endFrame(w: ByteWriter, start: number): void {
  w.buf.writeUInt32BE(w.pos - start - 4, start);
}

/** A complete frame holding a JSON body (handshake frames). */
export function jsonFrame(type: number, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  const out = Buffer.allocUnsafe(5 + json.length);
  out.writeUInt32BE(1 + json.length, 0);
  out[4] = type;
  json.copy(out, 5);
  return out;
}

export function creditFrame(channel: number, credits: number): Buffer {
  const out = Buffer.allocUnsafe(11);
  out.writeUInt32BE(7, 0);
  out[4] = FRAME_CREDIT;
  out.writeUInt16BE(channel, 5);
  out.writeUInt32BE(credits, 7);
  return out;
}

/** Encodes one DATA frame holding `elements` (tests and the benchmark; channels build frames incrementally). */
export function dataFrame(channel: number, elements: readonly ChannelElement[], project?: readonly string[]): Buffer {
  const w = new ByteWriter();
  const start = beginFrame(w, FRAME_DATA);
  w.u16(channel);
  w.u16(elements.length);
  for (const el of elements) writeElement(w, el, project);
  endFrame(w, start);
  return w.take();
}

/** A received frame: its type and its body (without the length and type). */
export interface Frame {
  type: number;
  body: Buffer;
}

function readStr(body: Buffer, p: number): [string, number] {
  const len = body.readUInt32BE(p);
  const end = p + 4 + len;
  if (end > body.length) throw corrupt('string runs past the frame');
  return [body.toString('utf8', p + 4, end), end];
}

function corrupt(msg: string): TributaryError {
  return new TributaryError('TRIB_NET_PROTOCOL', `corrupt data frame: ${msg}`);
}

/** Decodes the body of a DATA frame: its channel and elements. */
export function decodeData(body: Buffer): { channel: number; elements: ChannelElement[] } {
  if (body.length < 4) throw corrupt('too short');
  const channel = body.readUInt16BE(0);
  const count = body.readUInt16BE(2);
  const elements: ChannelElement[] = [];
  let p = 4;
  for (let e = 0; e < count; e++) {
    const tag = body[p++];
    if (tag === TAG_BATCH) {
      const n = body.readUInt32BE(p);
      const flags = body[p + 4] as number;
      if ((flags & ~(FLAG_KEYED | FLAG_ORIGINS | FLAG_V8)) !== 0) throw corrupt(`unknown batch flags ${flags}`);
      const keyed = (flags & FLAG_KEYED) !== 0;
      p += 5;
      if (p + n * (keyed ? 12 : 8) > body.length) throw corrupt('batch runs past the frame');
      const f64 = new Float64Array(n);
      new Uint8Array(f64.buffer).set(body.subarray(p, p + n * 8));
      p += n * 8;
      const ts = new Array<number>(n);
      for (let i = 0; i < n; i++) ts[i] = f64[i] as number;
      let kgs: number[] = [];
      let keys: string[] = [];
      if (keyed) {
        const i32 = new Int32Array(n);
        new Uint8Array(i32.buffer).set(body.subarray(p, p + n * 4));
        p += n * 4;
        kgs = new Array<number>(n);
        for (let i = 0; i < n; i++) kgs[i] = i32[i] as number;
        let s: string;
        [s, p] = readStr(body, p);
        keys = JSON.parse(s) as string[];
      }
      let recs: Rec[];
      if ((flags & FLAG_V8) !== 0) {
        const len = body.readUInt32BE(p);
        if (p + 4 + len > body.length) throw corrupt('records run past the frame');
        recs = v8.deserialize(body.subarray(p + 4, p + 4 + len)) as Rec[];
        p += 4 + len;
      } else {
        let s: string;
        [s, p] = readStr(body, p);
        recs = JSON.parse(s) as Rec[];
      }
      if (recs.length !== n || (keyed && keys.length !== n))
        throw corrupt(`batch of ${n} records holds ${recs.length}`);
      const batch: Batch = { recs, ts, keys, kgs, n };
      if ((flags & FLAG_ORIGINS) !== 0) [batch.origins, p] = readOrigins(body, p, n);
      elements.push({ kind: 'batch', batch });
    } else if (tag === TAG_EVENT) {
      let s: string;
      [s, p] = readStr(body, p);
      const el = JSON.parse(s, eventReviver) as ChannelElement;
      if (typeof el !== 'object' || el === null || typeof el.kind !== 'string') throw corrupt('event without a kind');
      elements.push(el);
    } else {
      throw corrupt(`unknown element tag ${String(tag)}`);
    }
  }
  if (p !== body.length) throw corrupt(`${body.length - p} trailing bytes`);
  return { channel, elements };
}

export function decodeCredit(body: Buffer): { channel: number; credits: number } {
  if (body.length !== 6) throw new TributaryError('TRIB_NET_PROTOCOL', `credit frame of ${body.length} bytes`);
  return { channel: body.readUInt16BE(0), credits: body.readUInt32BE(2) };
}

/**
 * Reassembles frames from a byte stream. Chunks are kept as they arrive and only copied
 * when a frame spans several of them. A frame longer than `maxFrameBytes` is refused as soon
 * as its length prefix arrives (nothing of it is buffered beyond the chunk at hand); the
 * handshake starts with MAX_HANDSHAKE_FRAME_BYTES and raises the limit once authenticated.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  maxFrameBytes: number;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Feeds a chunk; returns every frame now complete, in order. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek4();
      if (head < 1 || head > this.maxFrameBytes)
        throw new TributaryError(
          'TRIB_NET_FRAME_TOO_LARGE',
          `frame length ${head} out of range (1..${this.maxFrameBytes})`,
        );
      if (this.buffered < 4 + head) break;
      const frame = this.take(4 + head);
      out.push({ type: frame[4] as number, body: frame.subarray(5) });
    }
    return out;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peek4(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    const b = Buffer.concat(this.chunks, 4);
    return b.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.buffered -= n;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
