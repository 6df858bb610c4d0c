// CEL via @marcbachmann/cel-js, compiled once per expression. Records are plain JSON
// objects whose fields are the expression's top-level variables. Invariants:
//  * every JS number is a CEL `double`, every BigInt a CEL `int` (a typed format's integers:
//    formats.md, "Integers"); ints mix with doubles through the operators registered below,
//    so `price * 2` works as users expect;
//  * results keep CEL's integers: an `int` stays a BigInt, a `uint` becomes one, so an integer
//    is never rounded to a double on its way to a sink (core/json-text.ts writes it exactly);
//  * a field typed `uint` holds a BigInt in the record and reaches CEL as its `uint`;
//  * with known field types an unknown field or a type mismatch is a compile-time error;
//    without them every field is `dyn` and only parse errors are caught before the run;
//  * every expression is bounded in length and cost (cel-cost.ts), at validation and, when its
//    comprehensions range over record fields, again per record before it runs.
import { Environment } from '@marcbachmann/cel-js';
import type { FieldType, FieldTypes, Rec } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import {
  MAX_EXPR_LENGTH,
  exprCost,
  excerpt,
  hasRecordSizedComprehension,
  overBudget,
  type CelNode,
} from './cel-cost.ts';

export interface CompiledExpr {
  readonly source: string;
  /** CEL result type from the checker (`dyn` when unknown). */
  readonly type: string;
  evaluate(vars: Rec): unknown;
}

export type CheckResult = { ok: true; type: string } | { ok: false; message: string; budget?: true };

const MIXED_OPS: Record<string, (a: number, b: number) => number> = {
  '*': (a, b) => a * b,
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '/': (a, b) => a / b,
};

function baseEnvironment(dynamic: boolean): Environment {
  const env = new Environment({
    unlistedVariablesAreDyn: dynamic,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
  });
  for (const [op, fn] of Object.entries(MIXED_OPS)) {
    env.registerOperator(`double ${op} int`, (a: number, b: bigint) => fn(a, Number(b)));
    env.registerOperator(`int ${op} double`, (a: bigint, b: number) => fn(Number(a), b));
  }
  return env;
}

/** cel-js's `uint` value class (not exported by the package): what `0u` evaluates to. */
const UnsignedInt = (new Environment().evaluate('0u') as object).constructor as new (v: bigint) => {
  valueOf(): bigint;
};

const envCache = new Map<string, Environment>();

function environmentFor(fields: FieldTypes | undefined, extra?: FieldTypes): Environment {
  const all = fields === undefined ? undefined : { ...fields, ...extra };
  const cacheKey =
    all === undefined ? `dyn:${JSON.stringify(extra ?? {})}` : JSON.stringify(Object.entries(all).sort());
  let env = envCache.get(cacheKey);
  if (!env) {
    env = baseEnvironment(all === undefined);
    for (const [name, t] of Object.entries(all ?? extra ?? {})) {
      // Fields named like CEL built-ins (`type`, `int`, `string`, ...) cannot be variables;
      // they stay readable through map access on a projection upstream (documented).
      try {
        env.registerVariable(name, t);
      } catch {
        // skipped: reserved identifier
      }
    }
    envCache.set(cacheKey, env);
  }
  return env;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? msg).trim();
}

/** Maps a CEL checker type to the field type records carry after normalisation. */
export function toFieldType(celType: string): FieldType {
  if (celType === 'int' || celType === 'uint' || celType === 'double') return celType;
  if (celType === 'string' || celType === 'bool') return celType;
  if (celType.startsWith('map')) return 'map';
  if (celType.startsWith('list')) return 'list';
  return 'dyn';
}

/** Type-checks without compiling for evaluation. `fields` undefined = unknown schema (all dyn). */
export function checkExpr(source: string, fields: FieldTypes | undefined, extra?: FieldTypes): CheckResult {
  if (typeof source !== 'string' || source.trim() === '')
    return { ok: false, message: 'expected a CEL expression, got an empty value' };
  if (source.length > MAX_EXPR_LENGTH)
    return {
      ok: false,
      budget: true,
      message: `${source.length} characters is longer than the limit of ${MAX_EXPR_LENGTH}`,
    };
  const env = environmentFor(fields, extra);
  try {
    const r = env.check(source);
    if (!r.valid) return { ok: false, message: firstLine(r.error) };
    const over = overBudget(exprCost(parsedAst(env, source)), 'expression', 'validation');
    if (over) return { ok: false, budget: true, message: over };
    return { ok: true, type: String(r.type) };
  } catch (e) {
    return { ok: false, message: firstLine(e) };
  }
}

function parsedAst(env: Environment, source: string): CelNode {
  return (env.parse(source) as unknown as { ast: CelNode }).ast;
}

/** Sizes of record fields (lists, maps, objects, strings) along a path; undefined when there is none. */
function recordSizes(vars: Rec): (path: readonly string[]) => number | undefined {
  return (path) => {
    let v: unknown = vars;
    for (const k of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = v instanceof Map ? v.get(k) : (v as Rec)[k];
    }
    if (Array.isArray(v) || typeof v === 'string') return v.length;
    if (v instanceof Map) return v.size;
    if (v !== null && typeof v === 'object') return Object.keys(v).length;
    return undefined;
  };
}

function uintFields(fields: FieldTypes | undefined, extra: FieldTypes | undefined): string[] {
  return Object.entries({ ...fields, ...extra })
    .filter(([, t]) => t === 'uint')
    .map(([f]) => f);
}

/** The record with its `uint` fields as cel-js's uint values (a copy; the record is not changed). */
function asUints(vars: Rec, uints: readonly string[]): Rec {
  const out = { ...vars };
  for (const f of uints) {
    const v = out[f];
    if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) out[f] = new UnsignedInt(BigInt(v));
  }
  return out;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `source` compiles to a plain read of that record field (no CEL evaluation). */
export function isBareField(source: string): boolean {
  const src = source.trim();
  return IDENT.test(src) && src !== 'true' && src !== 'false' && src !== 'null';
}

/** Converts CEL values (uint, maps, nested) into record values: plain objects, integers as BigInt. */
export function normalize(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof UnsignedInt) return v.valueOf();
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const n = normalize(v[i]);
      if (n !== v[i]) (out ??= v.slice())[i] = n;
    }
    return out ?? v;
  }
  if (v instanceof Map) {
    const o: Rec = {};
    for (const [k, x] of v) o[String(k)] = normalize(x);
    return o;
  }
  if (v instanceof Uint8Array) return v;
  const o = v as Rec;
  let out: Rec | undefined;
  for (const k in o) {
    const n = normalize(o[k]);
    if (n !== o[k]) (out ??= { ...o })[k] = n;
  }
  return out ?? o;
}

/**
 * Compiles once. A bare field name compiles to a property read (the hot path of keyBy and
 * aggregates); anything else goes through the CEL evaluator. Evaluation errors throw
 * TRIB_EXPR_EVAL, a record that would take the expression over its cost budget
 * TRIB_EXPR_BUDGET (before any work); callers count and drop the record. `label` names the
 * expression in errors (e.g. `clicks/filter`); default: an excerpt of the source.
 */
export function compileExpr(source: string, fields?: FieldTypes, extra?: FieldTypes, label?: string): CompiledExpr {
  const name = label ?? excerpt(source);
  const checked = checkExpr(source, fields, extra);
  if (!checked.ok)
    throw new TributaryError(
      checked.budget ? 'TRIB_EXPR_BUDGET' : 'TRIB_EXPR_INVALID',
      `${name}: ${label ? `${excerpt(source)}: ` : ''}${checked.message}`,
    );
  const src = source.trim();
  if (isBareField(src)) {
    return {
      source,
      type: checked.type,
      evaluate(vars: Rec): unknown {
        const v = vars[src];
        if (v === undefined && !(src in vars)) throw new TributaryError('TRIB_EXPR_EVAL', `Unknown variable: ${src}`);
        return v;
      },
    };
  }
  const env = environmentFor(fields, extra);
  let fn: (vars: Rec) => unknown;
  try {
    fn = env.parse(src) as unknown as (vars: Rec) => unknown;
  } catch (e) {
    throw new TributaryError('TRIB_EXPR_INVALID', `${name}: ${firstLine(e)}`, { cause: e });
  }
  const needsNormalize = !['bool', 'string', 'double', 'int'].includes(checked.type);
  const ast = parsedAst(env, src);
  const uints = uintFields(fields, extra);
  const sized = hasRecordSizedComprehension(ast);
  return {
    source,
    type: checked.type,
    evaluate(vars: Rec): unknown {
      if (sized) {
        const over = overBudget(exprCost(ast, recordSizes(vars)), name, 'evaluation');
        if (over) throw new TributaryError('TRIB_EXPR_BUDGET', over);
      }
      try {
        const v = fn(uints.length === 0 ? vars : asUints(vars, uints));
        return needsNormalize ? normalize(v) : v;
      } catch (e) {
        throw new TributaryError('TRIB_EXPR_EVAL', firstLine(e), { cause: e });
      }
    },
  };
}
