// Records as JSON text. A record is JSON plus integers: a typed format's integers (an Avro
// `long`, a Protobuf `int64`, a JSON Schema `integer`) and CEL `int`/`uint` results are BigInt,
// so they stay integers through every step (docs/runtime/formats.md, "Integers"). JSON has one
// number type: a BigInt is written as a JSON number with all its digits (JSON.rawJSON), never
// rounded to a double, whatever its size. Records without a BigInt take JSON.stringify's fast path.

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** JSON.stringify's replacer for values that may hold BigInt: exact digits as a JSON number. */
export function bigintReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? rawJSON(v.toString()) : v;
}

/** True when `e` is JSON.stringify refusing a BigInt (the one TypeError it throws for a value, besides cycles). */
function refusedBigint(e: unknown): boolean {
  return e instanceof TypeError && /BigInt/.test(e.message);
}

/** JSON.stringify, with BigInt written as exact JSON numbers (see above). */
export function jsonText(v: unknown, indent?: number): string {
  try {
    return JSON.stringify(v, undefined, indent);
  } catch (e) {
    if (!refusedBigint(e)) throw e;
    return JSON.stringify(v, bigintReplacer, indent);
  }
}

/** True when `v` holds a BigInt anywhere (records across a data plane need a format that keeps them). */
export function holdsBigint(v: unknown): boolean {
  if (typeof v === 'bigint') return true;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false;
  if (Array.isArray(v)) return v.some(holdsBigint);
  for (const k in v as Record<string, unknown>) if (holdsBigint((v as Record<string, unknown>)[k])) return true;
  return false;
}
