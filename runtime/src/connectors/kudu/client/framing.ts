// KRPC framing: every message after the connection preamble is a 4-byte big-endian length,
// then a varint-delimited header protobuf, then a varint-delimited payload: the body protobuf
// and, in responses, sidecars after it, whose offsets (counted from the payload's start) the
// header gives; the body ends where the first sidecar starts.
import protobuf from 'protobufjs';
import { kuduError } from './kudu-errors.ts';

/** "hrpc", protocol version 9, service class 0 (default), auth protocol 0 (SASL). */
export const connectionPreamble = Buffer.from([0x68, 0x72, 0x70, 0x63, 9, 0, 0]);

/** Frames larger than this are refused, so a corrupt length never allocates gigabytes. */
export const maxFrameBytes = 256 * 1024 * 1024;

export function encodeFrame(header: Uint8Array, body: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.bytes(header);
  w.bytes(body);
  const payload = w.finish();
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

export interface RawFrame {
  readonly header: Uint8Array;
  /** Everything after the header: the delimited payload. */
  readonly rest: Uint8Array;
}

/** Splits a frame payload (without its length prefix) into header and the bytes after it. */
export function splitFrame(payload: Uint8Array): RawFrame {
  const r = protobuf.Reader.create(payload);
  const header = r.bytes();
  return { header, rest: payload.subarray(r.pos) };
}

/** The payload (body and sidecars) at the start of a frame's `rest`. */
export function mainMessage(rest: Uint8Array): Uint8Array {
  return protobuf.Reader.create(rest).bytes();
}

/** Sidecar `i` of a response payload: from its offset to the next one's (or the end). */
export function sidecar(rest: Uint8Array, offsets: readonly number[], i: number): Uint8Array {
  const start = offsets[i];
  if (start === undefined || start > rest.length) {
    throw kuduError('TRIB_KUDU_PROTOCOL', `response names sidecar ${i} but carries ${offsets.length}`);
  }
  const end = offsets[i + 1] ?? rest.length;
  return rest.subarray(start, end);
}

/**
 * Accumulates socket bytes and yields complete frame payloads; a frame over the limit is a
 * protocol error (the connection is then closed by the caller).
 */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Uint8Array[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Uint8Array[] = [];
    while (this.buffered.length >= 4) {
      const len = this.buffered.readUInt32BE(0);
      if (len > maxFrameBytes) {
        throw kuduError('TRIB_KUDU_PROTOCOL', `frame of ${len} bytes is over the ${maxFrameBytes}-byte limit`);
      }
      if (this.buffered.length < 4 + len) break;
      frames.push(this.buffered.subarray(4, 4 + len));
      this.buffered = this.buffered.subarray(4 + len);
    }
    return frames;
  }
}
