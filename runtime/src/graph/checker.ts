// The issue collector every validation rule writes into (graph rules here, connector config
// rules beside each connector). A check never throws: it records `path: message` and returns
// undefined for a bad value, so one pass reports every issue. Messages say what was expected
// and what was given; tests and users match them, so their wording is part of the contract.
import type { ValidationIssue } from '../errors.ts';
import { checkExpr } from '../expr/cel.ts';
import { excerpt } from '../expr/cel-cost.ts';
import { parseDuration } from './duration.ts';
import type { FieldType, FieldTypes } from '../core/record.ts';

/** A mapping of a spec document under validation (YAML/JSON), not a stream record (that is core's Rec). */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
export const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

export class Checker {
  readonly issues: ValidationIssue[] = [];
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  keys(o: Obj, allowed: readonly string[], path: string): void {
    for (const k of Object.keys(o))
      if (!allowed.includes(k)) this.add(`${path}.${k}`, `unknown field; expected one of ${allowed.join(', ')}`);
  }
  string(o: Obj, key: string, path: string, required = true): string | undefined {
    const v = o[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') {
      this.add(`${path}.${key}`, `expected a non-empty string, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
  duration(
    o: Obj,
    key: string,
    path: string,
    opts: { required?: boolean; positive?: boolean; allowNegative?: boolean } = {},
  ): number | undefined {
    const v = o[key];
    if (v === undefined && !opts.required) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) {
      this.add(`${path}.${key}`, `expected a duration like "1m", got ${show(v)}`);
      return undefined;
    }
    if (ms <= 0 && opts.positive) this.add(`${path}.${key}`, `expected a positive duration, got ${show(v)}`);
    else if (ms < 0 && !opts.allowNegative)
      this.add(`${path}.${key}`, `expected a non-negative duration, got ${show(v)}`);
    return ms;
  }
  number(
    o: Obj,
    key: string,
    path: string,
    opts: { required?: boolean; min?: number; integer?: boolean } = {},
  ): number | undefined {
    const v = o[key];
    if (v === undefined && !opts.required) return undefined;
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (opts.integer && !Number.isInteger(v)) ||
      (opts.min !== undefined && v < opts.min)
    ) {
      const what = `${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}`;
      this.add(`${path}.${key}`, `expected ${what}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
  oneOf<T extends string>(o: Obj, key: string, path: string, values: readonly T[], required = false): T | undefined {
    const v = o[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.add(`${path}.${key}`, `expected one of ${values.join(', ')}, got ${show(v)}`);
      return undefined;
    }
    return v as T;
  }
  /** The one key of `kinds` present in `o` (a source's connector, a step's kind, a window's type). */
  exactlyOneKind<K extends string>(o: Obj, kinds: readonly K[], path: string, what: string): K | undefined {
    const present = kinds.filter((k) => o[k] !== undefined);
    if (present.length === 1) return present[0];
    if (present.length === 0) this.add(path, `expected exactly one ${what} kind (${kinds.join(', ')}), got none`);
    else this.add(path, `expected exactly one ${what} kind (${kinds.join(', ')}), got ${present.join(' and ')}`);
    return undefined;
  }
  /** Type-checks a CEL expression against the input's field types; returns its CEL type. */
  expr(
    source: unknown,
    path: string,
    schema: FieldTypes | undefined,
    opts: { bool?: boolean; list?: boolean; extra?: FieldTypes } = {},
  ): string | undefined {
    if (typeof source !== 'string' || source.trim() === '') {
      this.add(path, `expected a CEL expression, got ${show(source)}`);
      return undefined;
    }
    const r = checkExpr(source, schema, opts.extra);
    if (!r.ok) {
      this.add(path, `invalid expression ${excerpt(source)}: ${r.message}`);
      return undefined;
    }
    if (opts.bool && r.type !== 'bool' && r.type !== 'dyn')
      this.add(path, `expected a bool expression, got type ${r.type} from ${excerpt(source)}`);
    if (opts.list && !r.type.startsWith('list') && r.type !== 'dyn')
      this.add(path, `expected an expression returning a list, got type ${r.type}`);
    return r.type;
  }
  /**
   * A declared `schema:` (field name → type). `number` means double; so does `int`, unless the
   * source's format is typed (`integers`: a registry format, whose integers are CEL ints:
   * formats.md, "Integers"), where `int` and `uint` are kept.
   */
  schema(v: unknown, path: string, opts: { integers?: boolean } = {}): FieldTypes | undefined {
    if (v === undefined) return undefined;
    const kinds = ['double', ...(opts.integers ? ['int', 'uint'] : []), 'string', 'bool', 'map', 'list', 'dyn'];
    if (!isObj(v)) {
      this.add(path, `expected a map of field name → type (${kinds.join(', ')}), got ${show(v)}`);
      return undefined;
    }
    const out: Record<string, FieldType> = {};
    for (const [k, t] of Object.entries(v)) {
      const ft = t === 'number' || (t === 'int' && !opts.integers) ? 'double' : t;
      if (!kinds.includes(ft as string))
        this.add(`${path}.${k}`, `expected one of ${kinds.join(', ')}, got ${show(t)}`);
      else out[k] = ft as FieldType;
    }
    return out;
  }
}
