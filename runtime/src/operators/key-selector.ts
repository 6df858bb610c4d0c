// Computes the canonical key of a record for keyBy (see state/key-groups.ts).
import type { CompiledExpr } from '../expr/cel.ts';
import type { Rec } from '../core/record.ts';
import { normalize } from '../expr/cel.ts';
import { canonicalKey } from '../state/key-groups.ts';

export type KeySelector = (rec: Rec) => string;

export function fieldsKeySelector(fields: readonly string[]): KeySelector {
  if (fields.length === 1) {
    const f = fields[0] as string;
    return (rec) => {
      const v = rec[f];
      return typeof v === 'string' ? `[${JSON.stringify(v)}]` : canonicalKey([v]);
    };
  }
  return (rec) => canonicalKey(fields.map((f) => rec[f]));
}

/** Throws TRIB_EXPR_EVAL when the expression fails; the exchange counts and drops the record. */
export function exprKeySelector(expr: CompiledExpr): KeySelector {
  return (rec) => canonicalKey([normalize(expr.evaluate(rec))]);
}

/**
 * Rebuilds output key fields from a canonical key. An integer past 2^53 (a typed format's) comes
 * back a BigInt with all its digits; a smaller one a number, as the key does not tell them apart.
 */
export function keyFieldsOf(key: string, names: readonly string[], into: Rec): void {
  const parts = JSON.parse(key, (_k, v: unknown, ctx?: { source?: string }) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source)
      ? BigInt(ctx.source)
      : v,
  ) as unknown[];
  for (let i = 0; i < names.length; i++) into[names[i] as string] = parts[i] ?? null;
}
