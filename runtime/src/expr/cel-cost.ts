// Bounds on a CEL expression's work, since an expression is tenant input evaluated per record:
//  * its length (MAX_EXPR_LENGTH characters);
//  * its cost: AST nodes evaluated, where a comprehension (map, filter, all, exists,
//    exists_one) costs its range's size times its body. At validation the size of a list that
//    only a record knows is assumed (ASSUMED_LIST_SIZE); literal lists count as they are. At
//    evaluation an expression whose comprehensions range over record fields is costed again
//    with the record's actual sizes before it runs, so a record that would make it exceed the
//    budget is refused without spending the work (cel-js evaluates synchronously and cannot be
//    interrupted once started).
// CEL's own cost model (cel-go) works the same way: a static estimate with size hints, and a
// runtime limit; the numbers here are ours.
import { TributaryError } from '../errors.ts';

export const MAX_EXPR_LENGTH = 4096;
/** Nodes per evaluation: a few milliseconds of work at most. */
export const COST_BUDGET = 1_000_000;
/** Size assumed at validation for a list or map whose size only a record knows. */
export const ASSUMED_LIST_SIZE = 100;

interface Node {
  op: string;
  args: unknown;
}

const COMPREHENSIONS = new Set(['map', 'filter', 'all', 'exists', 'exists_one']);

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && typeof (x as Node).op === 'string';
}

function children(x: unknown, out: Node[] = []): Node[] {
  if (Array.isArray(x)) for (const c of x) children(c, out);
  else if (isNode(x)) out.push(x);
  return out;
}

/** Size of a value found in the record: elements of a list or map, characters of a string (undefined: none). */
export type SizeOf = (path: readonly string[]) => number | undefined;

/** A field path `a.b["c"]` as names, or undefined when the node is not one. */
function fieldPath(n: Node): string[] | undefined {
  if (n.op === 'id' && typeof n.args === 'string') return [n.args];
  const [obj, key] = n.args as [unknown, unknown];
  if (n.op === '.' && isNode(obj) && typeof key === 'string') {
    const p = fieldPath(obj);
    return p && [...p, key];
  }
  if (n.op === '[]' && isNode(obj) && isNode(key) && key.op === 'value' && typeof key.args === 'string') {
    const p = fieldPath(obj);
    return p && [...p, key.args];
  }
  return undefined;
}

/** Elements a comprehension over `n` visits. */
function sizeOf(n: Node, sizes: SizeOf | undefined): number {
  if (n.op === 'list' || n.op === 'map') return Array.isArray(n.args) ? n.args.length : ASSUMED_LIST_SIZE;
  if (n.op === '+') return children(n.args).reduce((s, c) => s + sizeOf(c, sizes), 0);
  if (n.op === 'rcall') {
    const [name, receiver] = n.args as [string, unknown];
    if ((name === 'map' || name === 'filter') && isNode(receiver)) return sizeOf(receiver, sizes);
    // A string splits into at most its length + 1 parts.
    const path = name === 'split' && isNode(receiver) ? fieldPath(receiver) : undefined;
    const chars = path && sizes?.(path);
    if (chars !== undefined) return chars + 1;
  }
  const path = fieldPath(n);
  return (path && sizes?.(path)) ?? ASSUMED_LIST_SIZE;
}

/** Estimated nodes evaluated; `sizes` gives actual sizes of record fields (evaluation), none at validation. */
export function exprCost(n: Node, sizes?: SizeOf): number {
  if (n.op === 'rcall') {
    const [name, receiver, args] = n.args as [string, unknown, unknown[]];
    if (COMPREHENSIONS.has(name) && isNode(receiver) && Array.isArray(args) && args.length >= 2) {
      const body = children(args.slice(1)).reduce((s, c) => s + exprCost(c, sizes), 0);
      return 1 + exprCost(receiver, sizes) + sizeOf(receiver, sizes) * (1 + body);
    }
  }
  let cost = 1;
  for (const c of children(n.args)) cost += exprCost(c, sizes);
  return cost;
}

/** True when some comprehension's range depends on the record (then evaluation re-costs with real sizes). */
export function hasRecordSizedComprehension(n: Node): boolean {
  if (n.op === 'rcall') {
    const [name, receiver] = n.args as [string, unknown];
    if (COMPREHENSIONS.has(name) && isNode(receiver) && receiver.op !== 'list' && receiver.op !== 'map') return true;
  }
  return children(n.args).some(hasRecordSizedComprehension);
}

/** The expression shortened for messages: a status or log line never echoes kilobytes of input. */
export function excerpt(source: string, max = 120): string {
  return source.length <= max
    ? JSON.stringify(source)
    : `${JSON.stringify(source.slice(0, max))}… (${source.length} characters)`;
}

/** TRIB_EXPR_BUDGET unless the expression is within its length limit; the message names `label`. */
export function checkLength(source: string, label: string): void {
  if (source.length > MAX_EXPR_LENGTH)
    throw new TributaryError(
      'TRIB_EXPR_BUDGET',
      `${label}: expression of ${source.length} characters is longer than the limit of ${MAX_EXPR_LENGTH}`,
    );
}

/** Message for an expression over budget, or undefined. */
export function overBudget(cost: number, label: string, when: 'validation' | 'evaluation'): string | undefined {
  if (cost <= COST_BUDGET) return undefined;
  const basis = when === 'validation' ? `assuming ${ASSUMED_LIST_SIZE} elements per record list` : 'for this record';
  return `${label}: estimated cost ${cost.toExponential(1)} (${basis}) exceeds the budget of ${COST_BUDGET.toExponential(0)} per evaluation`;
}

export type { Node as CelNode };
