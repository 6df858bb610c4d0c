// Avro values ⇄ record fields (docs/runtime/formats.md, "Avro → record"): a record is plain JSON,
// so bytes and fixed become base64 strings, longs numbers (within ±2^53, else the value does not
// decode), enums their symbol, a union of null and one other type its value or null; a union
// avsc cannot tell apart by JS type (two records, int and long…) stays `{ "<branch name>": value }`,
// as in Avro's JSON encoding. Logical types are their underlying type (timestamp-millis: epoch ms).
import type { Type } from 'avsc';

interface FieldLike {
  readonly name: string;
  readonly type: Type;
}
type Any = Type & {
  readonly fields?: readonly FieldLike[];
  readonly itemsType?: Type;
  readonly valuesType?: Type;
  readonly types?: readonly Type[];
  readonly branchName?: string;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** avsc's decoded value → record value. */
export function toRecordValue(type: Type, value: unknown): unknown {
  const t = type as Any;
  switch (t.typeName) {
    case 'bytes':
    case 'fixed':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'record':
    case 'error': {
      const v = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields!) out[f.name] = toRecordValue(f.type, v[f.name]);
      return out;
    }
    case 'array':
      return (value as unknown[]).map((x) => toRecordValue(t.itemsType!, x));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value as Record<string, unknown>)) out[k] = toRecordValue(t.valuesType!, x);
      return out;
    }
    case 'union:unwrapped': {
      if (value === null) return null;
      // avsc unwraps a union only when its branches differ by JS type: the one that admits it is its branch.
      const branch = t.types!.find((b) => b.typeName !== 'null' && b.isValid(value));
      return branch ? toRecordValue(branch, value) : value;
    }
    case 'union:wrapped': {
      if (value === null) return null;
      const [name, inner] = Object.entries(value as Record<string, unknown>)[0]!;
      const branch = t.types!.find((b) => (b as Any).branchName === name)!;
      return { [name]: toRecordValue(branch, inner) };
    }
    default:
      return value;
  }
}

/** Record value → what avsc encodes (base64 strings back to bytes); anything else passes as is, for the type check. */
export function fromRecordValue(type: Type, value: unknown): unknown {
  const t = type as Any;
  switch (t.typeName) {
    case 'bytes':
    case 'fixed':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'record':
    case 'error': {
      if (!isObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const f of t.fields!) if (f.name in value) out[f.name] = fromRecordValue(f.type, value[f.name]);
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.map((x) => fromRecordValue(t.itemsType!, x)) : value;
    case 'map': {
      if (!isObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value)) out[k] = fromRecordValue(t.valuesType!, x);
      return out;
    }
    case 'union:unwrapped': {
      if (value === null || value === undefined) return value ?? null;
      // The first non-null branch that admits the converted value (bytes come in as strings).
      for (const b of t.types!) {
        if (b.typeName === 'null') continue;
        const v = fromRecordValue(b, value);
        if (b.isValid(v)) return v;
      }
      return value;
    }
    case 'union:wrapped': {
      if (!isObject(value)) return value ?? null;
      const entries = Object.entries(value);
      if (entries.length !== 1) return value;
      const [name, inner] = entries[0]!;
      const branch = t.types!.find((b) => (b as Any).branchName === name);
      return branch ? { [name]: fromRecordValue(branch, inner) } : value;
    }
    default:
      return value;
  }
}
