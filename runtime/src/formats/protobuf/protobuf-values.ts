// Protobuf messages ⇄ record fields (docs/runtime/formats.md, "Protobuf → record"): every field
// with its default when unset (proto3), enums as their name, bytes as base64, 64-bit integers as
// numbers within ±2^53 (beyond: the message does not decode), maps as objects, repeated as
// arrays, nested messages as objects. Encoding checks each field's JS type first, because
// protobufjs' fromObject would coerce a wrong one silently (a string to 0).
import protobuf from 'protobufjs';
import { TributaryError } from '../../errors.ts';

const LONGS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const NUMBERS = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

function longToNumber(v: unknown, path: string): unknown {
  if (typeof v !== 'string') return v;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) {
    throw new TributaryError('TRIB_FORMAT_DECODE', `Protobuf field ${path}: 64-bit value ${v} is beyond ±2^53`);
  }
  return n;
}

/** A decoded message → record: protobufjs' toObject with longs as strings, then made numbers. */
export function messageToRecord(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  const obj = type.toObject(message, {
    longs: String,
    enums: String,
    bytes: String,
    defaults: true,
    arrays: true,
    objects: true,
  });
  return convertLongs(type, obj, type.name);
}

function convertLongs(type: protobuf.Type, obj: Record<string, unknown>, path: string): Record<string, unknown> {
  for (const f of type.fieldsArray) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    const at = `${path}.${f.name}`;
    const one = (x: unknown): unknown =>
      f.resolvedType instanceof protobuf.Type
        ? convertLongs(f.resolvedType, x as Record<string, unknown>, at)
        : LONGS.has(f.type)
          ? longToNumber(x, at)
          : x;
    if (f.map) obj[f.name] = Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, one(x)]));
    else if (f.repeated) obj[f.name] = (v as unknown[]).map(one);
    else obj[f.name] = one(v);
  }
  return obj;
}

/** The problems of `rec` against `type`, as `path: what` (empty: encodable). */
export function recordProblems(type: protobuf.Type, rec: unknown, path = type.name): string[] {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return [`${path}: not an object`];
  const out: string[] = [];
  const r = rec as Record<string, unknown>;
  for (const f of type.fieldsArray) {
    const v = r[f.name];
    if (v === undefined || v === null) continue;
    const at = `${path}.${f.name}`;
    const check = (x: unknown, p: string): void => {
      const t = f.resolvedType;
      if (t instanceof protobuf.Type) out.push(...recordProblems(t, x, p));
      else if (t instanceof protobuf.Enum) {
        if (!(typeof x === 'string' ? x in t.values : typeof x === 'number' && Object.values(t.values).includes(x)))
          out.push(`${p}: not a symbol of ${t.name}`);
      } else if (LONGS.has(f.type)) {
        if (!(Number.isSafeInteger(x) || (typeof x === 'string' && /^-?\d+$/.test(x))))
          out.push(`${p}: not an integer`);
      } else if (NUMBERS.has(f.type)) {
        if (typeof x !== 'number') out.push(`${p}: not a number`);
        else if (!f.type.startsWith('double') && !f.type.startsWith('float') && !Number.isInteger(x))
          out.push(`${p}: not an integer`);
      } else if (f.type === 'bool') {
        if (typeof x !== 'boolean') out.push(`${p}: not a boolean`);
      } else if (f.type === 'string') {
        if (typeof x !== 'string') out.push(`${p}: not a string`);
      } else if (f.type === 'bytes') {
        if (typeof x !== 'string' && !(x instanceof Uint8Array)) out.push(`${p}: not base64 or bytes`);
      }
    };
    if (f.map) {
      if (typeof v !== 'object' || Array.isArray(v)) out.push(`${at}: not an object`);
      else for (const [k, x] of Object.entries(v)) check(x, `${at}.${k}`);
    } else if (f.repeated) {
      if (!Array.isArray(v)) out.push(`${at}: not an array`);
      else v.forEach((x, i) => check(x, `${at}[${i}]`));
    } else check(v, at);
  }
  return out;
}
