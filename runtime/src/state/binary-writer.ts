// A growable big-endian byte writer for keyed-state snapshots (state-format.md, version 2).
// One writer builds a whole snapshot: sections are appended in place (lengths back-patched),
// so no per-record strings, objects or chunk copies are made. The buffer doubles when full,
// which bounds the copying to < 2× the final size.

/** Tags of the tagged value encoding (TVE) of a state's JSON form; see state-format.md. */
export const TAG_NULL = 0;
export const TAG_FALSE = 1;
export const TAG_TRUE = 2;
export const TAG_F64 = 3;
export const TAG_STRING = 4;
export const TAG_ARRAY = 5;
export const TAG_OBJECT = 6;
export const TAG_UINT = 7;
export const TAG_NEG_INT = 8;
/** A BigInt (a typed format's integer, a CEL int: core/json-text.ts): its decimal digits as a string. */
export const TAG_BIGINT = 9;
/** A Date as f64 milliseconds: written only into a disk backend's local store (`dates`), never into a snapshot. */
export const TAG_DATE = 10;

export class BinaryWriter {
  private buf: Buffer;
  private dv: DataView;
  /** Bytes written so far. */
  pos = 0;
  /**
   * Writes a Date as a Date (TAG_DATE) instead of its toJSON string: the disk backend's local
   * store keeps values as the heap does, while snapshots keep JSON's meaning (their format has no
   * Date, and a restore gives the ISO string, as a restore of heap state always did).
   */
  dates = false;
  /** A Date was written as TAG_DATE: the bytes differ from a snapshot's (see `dates`). */
  wroteDate = false;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.dv.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** Overwrites a u32 written earlier (section lengths). */
  patchU32(at: number, v: number): void {
    this.dv.setUint32(at, v);
  }

  f64(v: number): void {
    this.ensure(8);
    this.dv.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** Unsigned LEB128 of a safe integer ≥ 0 (7 bits per byte, low groups first, high bit = more). */
  varuint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    if (v >= 0x1000_0000) {
      // Above 28 bits: the low 4 groups with int ops, then one division (timestamps ~ 2^41).
      let lo = v % 0x1000_0000;
      for (let i = 0; i < 4; i++) {
        b[this.pos++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
      v = Math.floor(v / 0x1000_0000);
    }
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /**
   * The bytes of `src` from `start` on, as `bytes(src.subarray(start))` without making that view:
   * a full snapshot copies millions of stored keys past their key-group prefix, and a Buffer's
   * subarray cost more than the copy (a third of a 5M-key snapshot's time, profiled).
   */
  bytesFrom(src: Uint8Array, start: number): void {
    const n = src.length - start;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    if (n <= 64) for (let i = start; i < src.length; i++) b[p++] = src[i] as number;
    else b.set(new Uint8Array(src.buffer, src.byteOffset + start, n), p);
    this.pos += n;
  }

  /** varuint byte length, then UTF-8. ASCII strings (the usual key) are copied byte by byte. */
  string(s: string): void {
    const n = s.length;
    if (n < 0x80) {
      this.ensure(n + 1);
      const b = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varuint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  /**
   * A number in TVE: non-negative / negative safe integers as varuint, everything else (fractions, −0, NaN, ±∞) as f64.
   */
  number(v: number): void {
    if (Number.isSafeInteger(v)) {
      if (v >= 0) {
        if (v === 0 && 1 / v < 0) {
          this.u8(TAG_F64);
          this.f64(v);
          return;
        }
        this.u8(TAG_UINT);
        if (v < 0x80) this.u8(v);
        else this.varuint(v);
      } else {
        this.u8(TAG_NEG_INT);
        this.varuint(-v);
      }
      return;
    }
    this.u8(TAG_F64);
    this.f64(v);
  }

  /**
   * Any JSON-encodable value in TVE, with JSON.stringify's meaning: toJSON() is honoured,
   * undefined/functions/symbols become null in arrays and are left out of objects.
   * Unlike JSON, non-finite numbers and −0 survive (JSON would turn them into null / 0).
   */
  value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        this.number(v);
        return;
      case 'string':
        this.u8(TAG_STRING);
        this.string(v);
        return;
      case 'boolean':
        this.u8(v ? TAG_TRUE : TAG_FALSE);
        return;
      case 'object': {
        if (v === null) {
          this.u8(TAG_NULL);
          return;
        }
        if (Array.isArray(v)) {
          this.u8(TAG_ARRAY);
          this.varuint(v.length);
          for (const x of v as unknown[]) this.value(x);
          return;
        }
        if (this.dates && v instanceof Date) {
          this.wroteDate = true;
          this.u8(TAG_DATE);
          this.f64(v.getTime());
          return;
        }
        const o = v as Record<string, unknown> & { toJSON?: unknown };
        if (typeof o.toJSON === 'function') {
          this.value((o.toJSON as () => unknown)());
          return;
        }
        const keys = Object.keys(o).filter(
          (k) => o[k] !== undefined && typeof o[k] !== 'function' && typeof o[k] !== 'symbol',
        );
        this.u8(TAG_OBJECT);
        this.varuint(keys.length);
        for (const k of keys) {
          this.string(k);
          this.value(o[k]);
        }
        return;
      }
      case 'bigint':
        this.u8(TAG_BIGINT);
        this.string(v.toString());
        return;
      default:
        this.u8(TAG_NULL);
    }
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
