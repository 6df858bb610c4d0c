// An Avro schema text parsed with the named types its references define: the referenced schemas
// first, in dependency order (each after the ones it references), into one avsc type registry,
// then the schema itself, whose names then resolve against them (Confluent's Avro serdes do the
// same; a reference's name is the full name of the type it defines, which avsc finds by itself).
// Every union is parsed wrapped and every `long` as a BigInt (formats.md, "Integers"):
// avsc's unwrapped unions pick a branch by JS type and know no BigInt, so avro-values.ts unwraps
// the unions avsc would have (the record keeps their plain value) and wraps them back to encode.
import avro, { type Type } from 'avsc';
import { TributaryError } from '../../errors.ts';
import { NO_REFERENCES, type References } from '../registry/references.ts';

/** An Avro long as a BigInt: all 64 bits exact (avsc's default, a number, refuses beyond ±2^53). */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  // A default in the schema (a JSON number) and avsc's copies; toJSON keeps every digit.
  fromJSON: (x: unknown) => BigInt(x as string),
  toJSON: (n: bigint) => (Number.isSafeInteger(Number(n)) ? Number(n) : n.toString()),
  isValid: (n: unknown) => typeof n === 'bigint' && BigInt.asIntN(64, n) === n,
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** `long` and `{type: long, …}` (a logical type's too: its underlying long) as bigLong. */
function longHook(schema: avro.Schema): Type | undefined {
  const isLong = schema === 'long' || (typeof schema === 'object' && (schema as { type?: unknown }).type === 'long');
  return isLong ? (bigLong as unknown as Type) : undefined;
}

function forSchema(text: string, what: string, registry: Record<string, Type>): Type {
  try {
    return avro.Type.forSchema(JSON.parse(text) as avro.Schema, { registry, wrapUnions: true, typeHook: longHook });
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what} is not a valid Avro schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The named types `refs` define (of the schema called `what`), by full name: an avsc type registry. */
export function referencedTypes(refs: References, what: string): Record<string, Type> {
  const registry: Record<string, Type> = {};
  for (const r of refs.ordered)
    forSchema(r.schema, `reference "${r.name}" (subject "${r.subject}" version ${r.version}) of ${what}`, registry);
  return registry;
}

/** `text` (called `what` in errors) with the named types of `refs`; TRIB_FORMAT_SCHEMA naming the failing one. */
export function parseAvro(text: string, what: string, refs: References = NO_REFERENCES): Type {
  return forSchema(text, what, referencedTypes(refs, what));
}
