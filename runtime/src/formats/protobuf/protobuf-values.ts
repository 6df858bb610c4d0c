// Protobuf messages ⇄ record fields (docs/runtime/formats.md, "Protobuf → record"): every field
// with its default when unset (proto3), enums as their name, bytes as base64, integers (32- and
// 64-bit, signed or not) as BigInt, all 64 bits exact (CEL int, or uint for the unsigned ones:
// formats.md, "Integers"), maps as objects, repeated as arrays, nested messages as objects.
// Encoding checks each field's JS type first, because protobufjs' fromObject would coerce a
// wrong one silently (a string to 0), then gives it integers as it takes them (messageObject).
import protobuf from 'protobufjs';

const LONGS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INTS = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const NUMBERS = new Set(['double', 'float', ...INTS]);
/** The unsigned integer types: their fields are CEL `uint`s (formats/field-types.ts). */
export const UNSIGNED = new Set(['uint32', 'uint64', 'fixed32', 'fixed64']);

/** A decoded message → record: protobufjs' toObject with longs as strings, then every integer a BigInt. */
export function messageToRecord(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  const obj = type.toObject(message, {
    longs: String,
    enums: String,
    bytes: String,
    defaults: true,
    arrays: true,
    objects: true,
  });
  return mapNumbers(type, obj, (v, t) =>
    (LONGS.has(t) || INTS.has(t)) && (typeof v === 'string' || typeof v === 'number') ? BigInt(v) : v,
  );
}

/**
 * A record → what protobufjs' fromObject takes exactly: a BigInt as a number in a 32-bit field
 * and as a decimal string in a 64-bit one (a number there would be a double). Call after recordProblems.
 */
export function messageObject(type: protobuf.Type, rec: Record<string, unknown>): Record<string, unknown> {
  return mapNumbers(type, { ...rec }, (v, t) =>
    typeof v === 'bigint' ? (LONGS.has(t) ? v.toString() : Number(v)) : v,
  );
}

/** `obj` (changed in place, nested messages copied) with `f` applied to every number field's value. */
function mapNumbers(
  type: protobuf.Type,
  obj: Record<string, unknown>,
  f: (v: unknown, fieldType: string) => unknown,
): Record<string, unknown> {
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    const number = LONGS.has(field.type) || NUMBERS.has(field.type);
    const message = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (!number && !message) continue;
    const one = (x: unknown): unknown =>
      message
        ? typeof x === 'object' && x !== null
          ? mapNumbers(message, { ...(x as Record<string, unknown>) }, f)
          : x
        : f(x, field.type);
    if (field.map) obj[field.name] = Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, one(x)]));
    else if (field.repeated) obj[field.name] = Array.isArray(v) ? v.map(one) : v;
    else obj[field.name] = one(v);
  }
  return obj;
}

function fits(v: bigint, bits: number, type: string): boolean {
  return UNSIGNED.has(type) ? BigInt.asUintN(bits, v) === v : BigInt.asIntN(bits, v) === v;
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
        if (!(typeof x === 'bigint' || Number.isSafeInteger(x) || (typeof x === 'string' && /^-?\d+$/.test(x))))
          out.push(`${p}: not an integer`);
        else if (!fits(BigInt(x as bigint), 64, f.type)) out.push(`${p}: beyond 64 bits`);
      } else if (INTS.has(f.type) && typeof x === 'bigint') {
        if (!fits(x, 32, f.type)) out.push(`${p}: beyond 32 bits`);
      } else if (NUMBERS.has(f.type) && typeof x === 'bigint') {
        // An integer in a double or float field: written as the nearest double.
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
