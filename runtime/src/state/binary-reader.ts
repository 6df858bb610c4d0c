// Reads what binary-writer.ts writes. Every read is bounds-checked against `end`; running
// past it is corruption (TRIB_STATE_CORRUPT), never a silent short read.
import { TributaryError } from '../errors.ts';
import {
  TAG_ARRAY,
  TAG_BIGINT,
  TAG_DATE,
  TAG_F64,
  TAG_FALSE,
  TAG_NEG_INT,
  TAG_NULL,
  TAG_OBJECT,
  TAG_STRING,
  TAG_TRUE,
  TAG_UINT,
} from './binary-writer.ts';

export function stateCorrupt(msg: string): never {
  throw new TributaryError('TRIB_STATE_CORRUPT', `keyed-state snapshot: ${msg}`);
}

export class BinaryReader {
  private readonly buf: Buffer;
  private readonly dv: DataView;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) stateCorrupt(`value runs past the end of its section (offset ${this.pos})`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  varuint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    return stateCorrupt(`varuint longer than 8 bytes at offset ${this.pos}`);
  }

  string(): string {
    const len = this.varuint();
    this.need(len);
    const b = this.buf;
    const start = this.pos;
    this.pos += len;
    // Short ASCII (the usual key) without a call into the UTF-8 decoder.
    if (len <= 32) {
      let s = '';
      for (let i = start; i < start + len; i++) {
        const c = b[i] as number;
        if (c >= 0x80) return b.toString('utf8', start, start + len);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return b.toString('utf8', start, start + len);
  }

  /** A number in TVE (the tag included). */
  number(): number {
    const tag = this.u8();
    if (tag === TAG_UINT) return this.varuint();
    if (tag === TAG_F64) return this.f64();
    if (tag === TAG_NEG_INT) return -this.varuint();
    return stateCorrupt(`expected a number, found tag ${tag}`);
  }

  /** Reads an array tag and returns its length. */
  arrayLength(): number {
    const tag = this.u8();
    if (tag !== TAG_ARRAY) stateCorrupt(`expected an array, found tag ${tag}`);
    return this.varuint();
  }

  /** Moves past one TVE value without building it (merging snapshots byte for byte: delta-merge.ts). */
  skipValue(): void {
    const tag = this.u8();
    switch (tag) {
      case TAG_NULL:
      case TAG_FALSE:
      case TAG_TRUE:
        return;
      case TAG_F64:
        this.need(8);
        this.pos += 8;
        return;
      case TAG_UINT:
      case TAG_NEG_INT:
        this.varuint();
        return;
      case TAG_BIGINT:
      case TAG_STRING: {
        const n = this.varuint();
        this.need(n);
        this.pos += n;
        return;
      }
      case TAG_ARRAY: {
        const n = this.varuint();
        if (n > this.end - this.pos) stateCorrupt(`array of ${n} items in ${this.end - this.pos} bytes`);
        for (let i = 0; i < n; i++) this.skipValue();
        return;
      }
      case TAG_OBJECT: {
        const n = this.varuint();
        for (let i = 0; i < n; i++) {
          const k = this.varuint();
          this.need(k);
          this.pos += k;
          this.skipValue();
        }
        return;
      }
      default:
        stateCorrupt(`unknown value tag ${tag} at offset ${this.pos - 1}`);
    }
  }

  value(): unknown {
    const tag = this.u8();
    switch (tag) {
      case TAG_NULL:
        return null;
      case TAG_FALSE:
        return false;
      case TAG_TRUE:
        return true;
      case TAG_F64:
        return this.f64();
      case TAG_UINT:
        return this.varuint();
      case TAG_NEG_INT:
        return -this.varuint();
      case TAG_BIGINT: {
        const digits = this.string();
        if (!/^-?\d+$/.test(digits)) return stateCorrupt(`a BigInt of ${JSON.stringify(digits.slice(0, 40))}`);
        return BigInt(digits);
      }
      case TAG_STRING:
        return this.string();
      case TAG_DATE:
        return new Date(this.f64());
      case TAG_ARRAY: {
        const n = this.varuint();
        if (n > this.end - this.pos) stateCorrupt(`array of ${n} items in ${this.end - this.pos} bytes`);
        const a = new Array<unknown>(n);
        for (let i = 0; i < n; i++) a[i] = this.value();
        return a;
      }
      case TAG_OBJECT: {
        const n = this.varuint();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.string();
          // An own "__proto__" property, as JSON.parse makes it (plain assignment would set the prototype).
          if (k === '__proto__')
            Object.defineProperty(o, k, { value: this.value(), enumerable: true, writable: true, configurable: true });
          else o[k] = this.value();
        }
        return o;
      }
      default:
        return stateCorrupt(`unknown value tag ${tag} at offset ${this.pos - 1}`);
    }
  }
}
