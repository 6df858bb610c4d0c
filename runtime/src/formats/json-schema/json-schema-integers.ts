// The integers of a JSON Schema record: where the schema says `type: integer` (or a list of types
// with `integer`, and the value is whole), the decoded value becomes a BigInt (a CEL int:
// formats.md, "Integers"), with every digit the payload wrote, past 2^53 too. The schema is
// followed through `properties`, `items`/`prefixItems`, `additionalProperties` and local `$ref`s
// (`#/$defs/…`, `#/definitions/…`); a value under other keywords (allOf, oneOf, a `$ref` to another
// schema) stays a number. Runs after validation, on the value validated.

type Schema = Record<string, unknown>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * JSON.parse keeping the source text of integers a double cannot hold (digits past 2^53), by
 * holder and key, for integersOf to make them exact.
 */
export function parseKeepingIntegers(text: string): { value: unknown; exact: WeakMap<object, Map<string, string>> } {
  const exact = new WeakMap<object, Map<string, string>>();
  const value = JSON.parse(text, function (this: object, key: string, v: unknown, ctx?: { source?: string }) {
    if (typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source)) {
      let m = exact.get(this);
      if (!m) exact.set(this, (m = new Map()));
      m.set(key, ctx.source);
    }
    return v;
  }) as unknown;
  return { value, exact };
}

/** `value` (changed in place) with the schema's integers as BigInt; `exact` from parseKeepingIntegers. */
export function integersOf(
  root: Schema,
  value: unknown,
  exact: WeakMap<object, Map<string, string>> = new WeakMap(),
): unknown {
  const deref = (s: unknown, depth: number): Schema | undefined => {
    if (!isObj(s) || depth > 32) return undefined;
    const ref = s['$ref'];
    if (typeof ref !== 'string') return s;
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    const defs = m ? root[m[1] as string] : undefined;
    return isObj(defs) ? deref(defs[decodeURIComponent(m![2] as string)], depth + 1) : undefined;
  };
  const isInteger = (s: Schema, v: unknown): boolean => {
    const t = s['type'];
    return (
      typeof v === 'number' && Number.isInteger(v) && (t === 'integer' || (Array.isArray(t) && t.includes('integer')))
    );
  };
  const convert = (s: unknown, holder: Record<string, unknown> | unknown[], key: string, depth: number): void => {
    const schema = deref(s, 0);
    if (!schema || depth > 64) return;
    const v = (holder as Record<string, unknown>)[key];
    if (isInteger(schema, v)) {
      (holder as Record<string, unknown>)[key] = BigInt(exact.get(holder)?.get(key) ?? (v as number));
      return;
    }
    walk(schema, v, depth + 1);
  };
  const walk = (schema: Schema, v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      const prefix = Array.isArray(schema['prefixItems']) ? (schema['prefixItems'] as unknown[]) : [];
      const items = Array.isArray(schema['items']) ? undefined : schema['items'];
      for (let i = 0; i < v.length; i++) convert(i < prefix.length ? prefix[i] : items, v, String(i), depth);
    } else if (isObj(v)) {
      const props = isObj(schema['properties']) ? schema['properties'] : {};
      for (const k of Object.keys(v)) convert(k in props ? props[k] : schema['additionalProperties'], v, k, depth);
    }
  };
  const top = deref(root, 0);
  if (top) walk(top, value, 0);
  return value;
}
