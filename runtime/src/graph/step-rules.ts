// Rules of the step kinds (filter, map, flatMap, keyBy, window, aggregate, union, join, dedupe,
// lookup, function): the structure of a step is checked with the other nodes; its options and
// expressions once its inputs' field types are known (topological order), so each step also
// derives the field types and key of what it emits. STEP_RULES holds one rule per kind, a table
// over every StepKind as connectors/registry.ts is over the connector kinds.
import { toFieldType } from '../expr/cel.ts';
import { parseAggregateCall, type AggregateCall } from './aggregate-spec.ts';
import { isObj, show, type Checker, type Obj } from './checker.ts';
import { normalizeKeyBy } from './keys.ts';
import { lookupKeyRules } from './lookup-key-rules.ts';
import { validateFunctionStep } from './function-step-rules.ts';
import { checkWindow, requireKeyed } from './keyed-rules.ts';
import { STEP_KINDS, type StepKind } from './spec.ts';
import type { FieldType, FieldTypes } from '../core/record.ts';
import type { NodeInfo } from './validated-graph.ts';

/** CEL types min() and max() order (at run time: one kind per group, docs/runtime/graph.md). */
const ORDERED_TYPES: readonly string[] = ['double', 'int', 'uint', 'string', 'google.protobuf.Timestamp', 'dyn'];

/** Kind and input count; runs before inputs are resolved. */
export function stepStructure(c: Checker, o: Obj, path: string, node: NodeInfo): void {
  c.keys(o, ['name', 'from', 'errorOutput', 'ttl', ...STEP_KINDS], path);
  const kind = c.exactlyOneKind(o, STEP_KINDS, path, 'step');
  if (!kind) return;
  node.kind = kind;
  const n = node.inputs.length;
  if (kind === 'union' && n < 2)
    c.add(`${path}.from`, `expected a list of at least two inputs for union, got ${show(o['from'])}`);
  else if (kind === 'join' && n !== 2)
    c.add(`${path}.from`, `expected a list of exactly two inputs [left, right] for join, got ${show(o['from'])}`);
  else if (kind !== 'union' && kind !== 'join' && n !== 1 && n > 0)
    c.add(`${path}.from`, `expected one input for ${kind}, got ${n}`);
}

/** What a step kind's rule checks: the step's value under its kind key, and the nodes around it. */
interface StepCheck {
  c: Checker;
  /** The value under the kind key (`o.map`, `o.window`, ...). */
  v: unknown;
  /** Its path, e.g. `graph.steps[2].map`. */
  p: string;
  /** The step's path, e.g. `graph.steps[2]`. */
  path: string;
  node: NodeInfo;
  inputs: NodeInfo[];
  in0: NodeInfo;
  nodes: Map<string, NodeInfo>;
}

/** Checks a step of one kind and sets what it emits: schema, key, aggregates. */
type StepRule = (s: StepCheck) => void;

/** Options and expressions of a step whose inputs are typed; sets its schema, key and aggregates. */
export function validateStep(
  c: Checker,
  o: Obj,
  path: string,
  node: NodeInfo,
  inputs: NodeInfo[],
  in0: NodeInfo,
  nodes: Map<string, NodeInfo>,
): void {
  const kind = node.kind as StepKind;
  STEP_RULES[kind]({ c, v: o[kind], p: `${path}.${kind}`, path, node, inputs, in0, nodes });
  if (o['ttl'] !== undefined) ttlRule(c, o, path, kind, in0);
}

/** The step kinds whose keyed state a `ttl` bounds. */
const TTL_KINDS: readonly StepKind[] = ['aggregate', 'dedupe', 'join'];

/** Why a step kind takes no `ttl`, where there is more to say than that it keeps no keyed state. */
const NO_TTL_BECAUSE: Partial<Record<StepKind, string>> = {
  aggregate: ': its state ends when its window fires (plus allowedLateness)',
  window: ': its state ends when its window fires (plus allowedLateness)',
  function: ': a function declares a ttl per state (getState(name, {ttl}))',
};

/**
 * `ttl` bounds the keyed state of a rolling aggregate, a dedupe or a join. A window's state ends
 * when it fires, so a windowed aggregate takes none; a function's states declare their own; other
 * kinds keep no keyed state.
 */
function ttlRule(c: Checker, o: Obj, path: string, kind: StepKind, in0: NodeInfo): void {
  if (!TTL_KINDS.includes(kind) || (kind === 'aggregate' && in0.kind === 'window')) {
    const why = NO_TTL_BECAUSE[kind] ?? '';
    c.add(
      `${path}.ttl`,
      `ttl applies to a rolling aggregate (an aggregate after a keyBy), a dedupe or a join only, not to ${kind === 'aggregate' ? 'a windowed aggregate' : `a ${kind} step`}${why}`,
    );
    return;
  }
  c.duration(o, 'ttl', path, { positive: true });
}

function filterRule({ c, v, p, node, in0 }: StepCheck): void {
  c.expr(v, p, in0.schema, { bool: true });
  node.schema = in0.schema;
}

function mapRule({ c, v, p, node, in0 }: StepCheck): void {
  if (!isObj(v) || Object.keys(v).length === 0) {
    c.add(p, `expected a map of output field → CEL expression, got ${show(v)}`);
    return;
  }
  const schema: Record<string, FieldType> = {};
  for (const [f, e] of Object.entries(v)) {
    const t = c.expr(e, `${p}.${f}`, in0.schema);
    schema[f] = t === undefined ? 'dyn' : toFieldType(t);
  }
  node.schema = schema;
}

function flatMapRule({ c, v, p, node, in0 }: StepCheck): void {
  if (!isObj(v)) {
    c.add(p, `expected {expr: "<list expression>", as?: field}, got ${show(v)}`);
    return;
  }
  c.keys(v, ['expr', 'as'], p);
  c.expr(v['expr'], `${p}.expr`, in0.schema, { list: true });
  c.string(v, 'as', p, false);
  node.schema = undefined;
}

function keyByRule({ c, v, p, node, in0 }: StepCheck): void {
  const k = normalizeKeyBy(v);
  if (!k) {
    c.add(
      p,
      `expected a field name, a list of field names, {fields: [...]}, {expr: "<CEL>", as?: name} or {function: <name>}, got ${show(v)}`,
    );
    return;
  }
  node.key = k;
  if (k.kind === 'fields') {
    if (in0.schema)
      for (const f of k.fields)
        if (!(f in in0.schema))
          c.add(p, `unknown field "${f}"; the input "${in0.name}" has ${Object.keys(in0.schema).join(', ')}`);
  } else if (k.kind === 'expr') c.expr(k.expr, `${p}.expr`, in0.schema);
  node.schema = in0.schema;
}

function windowRule({ c, v, p, path, node, in0, nodes }: StepCheck): void {
  if (!isObj(v)) {
    c.add(p, `expected {tumbling|sliding|session: {...}, time?, allowedLateness?, lateOutput?}, got ${show(v)}`);
    return;
  }
  checkWindow(c, v, p);
  if (requireKeyed(c, `${path}.from`, 'window', in0)) node.key = in0.key;
  const aggs = node.consumers.filter((n) => nodes.get(n)?.role !== 'sideOutput');
  if (aggs.length !== 1 || nodes.get(aggs[0] as string)?.kind !== 'aggregate') {
    c.add(
      path,
      `a window must be read by exactly one aggregate step (its results); got ${aggs.length === 0 ? 'none' : aggs.map((a) => `"${a}" (${nodes.get(a)?.kind})`).join(', ')}`,
    );
  }
  node.schema = in0.schema;
}

function aggregateRule({ c, v, p, path, node, in0 }: StepCheck): void {
  if (!isObj(v) || Object.keys(v).length === 0) {
    c.add(
      p,
      `expected a map of output field → "fn(expr)", e.g. {clicks: "count()", revenue: "sum(price)"}, got ${show(v)}`,
    );
    return;
  }
  if (!requireKeyed(c, `${path}.from`, 'aggregate', in0, true)) return;
  const key = in0.key;
  node.key = key;
  const calls: AggregateCall[] = [];
  const schema: Record<string, FieldType> = {};
  if (key)
    for (const f of key.kind === 'fields' ? key.fields : [key.as])
      schema[f] = key.kind === 'fields' ? (in0.schema?.[f] ?? 'dyn') : 'dyn';
  if (in0.kind === 'window') {
    schema['window_start'] = 'double';
    schema['window_end'] = 'double';
  }
  for (const [out, text] of Object.entries(v)) {
    const call = parseAggregateCall(out, text);
    if (typeof call === 'string') {
      c.add(`${p}.${out}`, call);
      continue;
    }
    if (schema[out] !== undefined) c.add(`${p}.${out}`, `output field "${out}" collides with a key or window field`);
    schema[out] = toFieldType(aggregateType(c, call, `${p}.${out}`, in0));
    calls.push(call);
  }
  node.aggregates = calls;
  node.schema = schema;
}

/** The type of an aggregate's result; its argument's type must suit the function. */
function aggregateType(c: Checker, call: AggregateCall, at: string, in0: NodeInfo): string {
  if (call.expr === undefined) return 'double';
  const et = c.expr(call.expr, at, in0.schema);
  if (et !== undefined && (call.fn === 'sum' || call.fn === 'avg') && !['double', 'int', 'uint', 'dyn'].includes(et)) {
    c.add(at, `${call.fn}() needs a number, got type ${et} from ${JSON.stringify(call.expr)}`);
  }
  if (et !== undefined && (call.fn === 'min' || call.fn === 'max') && !ORDERED_TYPES.includes(et)) {
    c.add(at, `${call.fn}() needs a number, a string or a timestamp, got type ${et} from ${JSON.stringify(call.expr)}`);
  }
  if (call.fn === 'min' || call.fn === 'max' || call.fn === 'first' || call.fn === 'last') return et ?? 'dyn';
  return 'double';
}

function unionRule({ c, v, p, node, inputs }: StepCheck): void {
  if (v !== null && !(isObj(v) && Object.keys(v).length === 0))
    c.add(p, `expected {} (union has no options), got ${show(v)}`);
  if (inputs.some((i) => i.schema === undefined)) node.schema = undefined;
  else {
    const merged: Record<string, FieldType> = {};
    for (const i of inputs)
      for (const [f, t] of Object.entries(i.schema as FieldTypes))
        merged[f] = merged[f] === undefined || merged[f] === t ? t : 'dyn';
    node.schema = merged;
  }
}

function joinRule({ c, v, p, path, node, inputs }: StepCheck): void {
  if (!isObj(v)) {
    c.add(p, `expected {lowerBound, upperBound, select?}, got ${show(v)}`);
    return;
  }
  c.keys(v, ['lowerBound', 'upperBound', 'select'], p);
  const lo = c.duration(v, 'lowerBound', p, { required: true, allowNegative: true });
  const hi = c.duration(v, 'upperBound', p, { required: true, allowNegative: true });
  if (lo !== undefined && hi !== undefined && lo > hi)
    c.add(
      `${p}.upperBound`,
      `expected upperBound ≥ lowerBound (${v['lowerBound'] as string}), got ${show(v['upperBound'])}`,
    );
  const [l, r] = inputs as [NodeInfo, NodeInfo];
  const lk = requireKeyed(c, `${path}.from[0]`, 'join', l);
  const rk = requireKeyed(c, `${path}.from[1]`, 'join', r);
  if (lk && rk && l.key && r.key) {
    const ln = l.key.kind === 'fields' ? l.key.fields.length : 1;
    const rn = r.key.kind === 'fields' ? r.key.fields.length : 1;
    if (ln !== rn)
      c.add(
        `${path}.from`,
        `join inputs must have keys of the same arity; "${l.name}" has ${ln} key part(s), "${r.name}" has ${rn}`,
      );
    node.key = l.key;
  }
  const sel = v['select'];
  if (sel !== undefined) {
    if (!isObj(sel) || Object.keys(sel).length === 0)
      c.add(`${p}.select`, `expected a map of output field → CEL over left and right, got ${show(sel)}`);
    else {
      const schema: Record<string, FieldType> = {};
      for (const [f, e] of Object.entries(sel)) {
        const t = c.expr(e, `${p}.select.${f}`, {}, { extra: { left: 'map', right: 'map' } });
        schema[f] = t === undefined ? 'dyn' : toFieldType(t);
      }
      node.schema = schema;
    }
  } else node.schema = l.schema && r.schema ? { ...l.schema, ...r.schema } : undefined;
}

function dedupeRule({ c, v, p, path, node, in0 }: StepCheck): void {
  if (!isObj(v)) {
    c.add(p, `expected {within?: "<duration>"} ({} keeps the first record per key), got ${show(v)}`);
    return;
  }
  c.keys(v, ['within'], p);
  c.duration(v, 'within', p, { positive: true });
  if (requireKeyed(c, `${path}.from`, 'dedupe', in0)) node.key = in0.key;
  node.schema = in0.schema;
}

function lookupRule({ c, v, p, node, in0, nodes }: StepCheck): void {
  if (!isObj(v)) {
    c.add(
      p,
      `expected {table: <druid or kudu source>, key: "<CEL>" | ["<CEL>", ..], column | [column, ..], fields?, onMissing?}, got ${show(v)}`,
    );
    return;
  }
  c.keys(v, ['table', 'key', 'column', 'fields', 'onMissing'], p);
  const table = c.string(v, 'table', p);
  const t = table === undefined ? undefined : nodes.get(table);
  const isTable = (n: typeof t): boolean => n?.role === 'source' && (n.kind === 'druid' || n.kind === 'kudu');
  if (table !== undefined && !isTable(t)) {
    const tables = [...nodes.values()].filter(isTable).map((n) => n.name);
    c.add(
      `${p}.table`,
      `expected the name of a druid or kudu source (the lookup table), got ${show(table)}; such sources: ${tables.join(', ') || '(none)'}`,
    );
  }
  lookupKeyRules(c, v, p, in0.schema);
  const f = v['fields'];
  if (f !== undefined && !(Array.isArray(f) && f.length > 0 && f.every((x) => typeof x === 'string' && x !== '')))
    c.add(`${p}.fields`, `expected a non-empty list of column names, got ${show(f)}`);
  c.oneOf(v, 'onMissing', p, ['keep', 'drop']);
  node.schema = undefined;
}

/** One rule per step kind of spec.ts: a new kind without its rule does not compile. */
const STEP_RULES: { readonly [K in StepKind]: StepRule } = {
  filter: filterRule,
  map: mapRule,
  flatMap: flatMapRule,
  keyBy: keyByRule,
  window: windowRule,
  aggregate: aggregateRule,
  union: unionRule,
  join: joinRule,
  dedupe: dedupeRule,
  lookup: lookupRule,
  function: ({ c, v, p, path, node, in0 }) => validateFunctionStep(c, v, p, path, node, in0),
};
