// Avro values ⇄ record fields (docs/runtime/formats.md, "Avro → record"): bytes and fixed become
// base64 strings, int and long BigInt (CEL ints, all 64 bits exact: formats.md, "Integers"),
// enums their symbol, a union of null and one other type its value or null; a union whose
// branches a JSON value cannot tell apart (two records, int and long…) stays
// `{ "<branch name>": value }`, as in Avro's JSON encoding. Logical types are their underlying
// type (timestamp-millis: epoch ms). Types come parsed with every union wrapped (avro-schema.ts).
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

/** What JSON kind a branch's values are: a union whose branches differ in it holds a plain value. */
function kindOf(t: Type): string {
  switch (t.typeName) {
    case 'int':
    case 'long':
    case 'abstract:long':
    case 'float':
    case 'double':
      return 'number';
    case 'bytes':
    case 'fixed':
      return 'buffer';
    case 'enum':
      return 'string';
    case 'map':
    case 'error':
    case 'record':
      return 'object';
    default:
      return t.typeName;
  }
}

/** True when the union's branches differ by JSON kind (so the record holds its value, not `{branch: value}`). */
export function isPlainUnion(type: Type): boolean {
  const t = type as Any;
  return new Set(t.types!.map(kindOf)).size === t.types!.length;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** avsc's decoded value → record value. */
export function toRecordValue(type: Type, value: unknown): unknown {
  const t = type as Any;
  switch (t.typeName) {
    case 'int':
      return BigInt(value as number);
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
    case 'union:wrapped': {
      if (value === null) return null;
      const [name, inner] = Object.entries(value as Record<string, unknown>)[0]!;
      const branch = t.types!.find((b) => (b as Any).branchName === name)!;
      const v = toRecordValue(branch, inner);
      return isPlainUnion(t) ? v : { [name]: v };
    }
    default:
      return value;
  }
}

/**
 * Record value → what avsc encodes (base64 strings back to bytes, integers to int's number and
 * long's BigInt); anything else passes as is, for the type check.
 */
export function fromRecordValue(type: Type, value: unknown): unknown {
  const t = type as Any;
  switch (t.typeName) {
    case 'int':
      return typeof value === 'bigint' ? Number(value) : value;
    case 'abstract:long':
      return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
    case 'float':
    case 'double':
      return typeof value === 'bigint' ? Number(value) : value;
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
    case 'union:wrapped': {
      if (value === null || value === undefined) return null;
      if (isPlainUnion(t)) {
        // The first non-null branch that admits the converted value (bytes come in as strings).
        for (const b of t.types!) {
          if (b.typeName === 'null') continue;
          const v = fromRecordValue(b, value);
          if (b.isValid(v)) return { [(b as Any).branchName!]: v };
        }
        return value;
      }
      if (!isObject(value)) return value;
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
