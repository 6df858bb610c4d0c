// Validates a job graph before anything starts. Every issue names the path of the bad
// field and what was expected. Structural checks run first; expressions are type-checked
// against the field types that flow from sources through steps (unknown types are `dyn`).
import { TributaryError, type ValidationIssue } from '../errors.ts';
import { checkExpr, toFieldType } from '../expr/cel.ts';
import { parseAggregateCall, type AggregateCall } from './aggregate-spec.ts';
import { parseDuration } from './duration.ts';
import { normalizeKeyBy, type KeySelectorSpec } from './keys.ts';
import { nexmarkSchema } from './nexmark-schema.ts';
import {
  SINK_KINDS,
  SOURCE_KINDS,
  STEP_KINDS,
  type FieldType,
  type FieldTypes,
  type GraphSpec,
  type SinkKind,
  type SourceKind,
  type StepKind,
} from './spec.ts';

export type NodeRole = 'source' | 'step' | 'sink' | 'sideOutput';

export interface NodeInfo {
  name: string;
  role: NodeRole;
  kind: SourceKind | StepKind | SinkKind | 'lateOutput';
  /** Spec path, e.g. `graph.steps[2]`. */
  path: string;
  inputs: string[];
  consumers: string[];
  /** Field types of the records this node emits; undefined = unknown (all dyn). */
  schema: FieldTypes | undefined;
  /** For keyBy nodes and keyed operators: the key selector in normal form. */
  key?: KeySelectorSpec;
  /** For aggregate nodes. */
  aggregates?: AggregateCall[];
}

export interface ValidatedGraph {
  spec: GraphSpec;
  nodes: Map<string, NodeInfo>;
  /** Node names in a topological order (inputs before consumers). */
  order: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

class Checker {
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
    if (ms < 0 && !opts.allowNegative) this.add(`${path}.${key}`, `expected a non-negative duration, got ${show(v)}`);
    if (ms <= 0 && opts.positive) this.add(`${path}.${key}`, `expected a positive duration, got ${show(v)}`);
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
      this.add(path, `invalid expression ${JSON.stringify(source)}: ${r.message}`);
      return undefined;
    }
    if (opts.bool && r.type !== 'bool' && r.type !== 'dyn')
      this.add(path, `expected a bool expression, got type ${r.type} from ${JSON.stringify(source)}`);
    if (opts.list && !r.type.startsWith('list') && r.type !== 'dyn')
      this.add(path, `expected an expression returning a list, got type ${r.type}`);
    return r.type;
  }
}

function schemaOf(c: Checker, v: unknown, path: string): FieldTypes | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) {
    c.add(path, `expected a map of field name → type (double, string, bool, map, list, dyn), got ${show(v)}`);
    return undefined;
  }
  const out: Record<string, FieldType> = {};
  for (const [k, t] of Object.entries(v)) {
    const ft = t === 'int' || t === 'number' ? 'double' : t;
    if (!['double', 'string', 'bool', 'map', 'list', 'dyn'].includes(ft as string))
      c.add(`${path}.${k}`, `expected one of double, string, bool, map, list, dyn, got ${show(t)}`);
    else out[k] = ft as FieldType;
  }
  return out;
}

function inferSchemaFromRecords(records: unknown[]): FieldTypes | undefined {
  const out: Record<string, FieldType> = {};
  for (const r of records) {
    if (!isObj(r)) return undefined;
    for (const [k, v] of Object.entries(r)) {
      const t: FieldType =
        typeof v === 'number'
          ? 'double'
          : typeof v === 'string'
            ? 'string'
            : typeof v === 'boolean'
              ? 'bool'
              : Array.isArray(v)
                ? 'list'
                : isObj(v)
                  ? 'map'
                  : 'dyn';
      out[k] = out[k] === undefined || out[k] === t ? t : 'dyn';
    }
  }
  // Fields missing from some records are still declared; reading them fails at run time like any missing key.
  return out;
}

function exactlyOneKind<K extends string>(
  c: Checker,
  o: Obj,
  kinds: readonly K[],
  path: string,
  what: string,
): K | undefined {
  const present = kinds.filter((k) => o[k] !== undefined);
  if (present.length === 1) return present[0];
  if (present.length === 0) c.add(path, `expected exactly one ${what} kind (${kinds.join(', ')}), got none`);
  else c.add(path, `expected exactly one ${what} kind (${kinds.join(', ')}), got ${present.join(' and ')}`);
  return undefined;
}

function validateSource(c: Checker, o: Obj, path: string, node: NodeInfo): void {
  c.keys(o, ['name', 'timestamp', ...SOURCE_KINDS], path);
  const kind = exactlyOneKind(c, o, SOURCE_KINDS, path, 'source');
  if (!kind) return;
  node.kind = kind;
  const p = `${path}.${kind}`;
  const s = o[kind];
  if (!isObj(s)) {
    c.add(p, `expected an object, got ${show(s)}`);
    return;
  }
  switch (kind) {
    case 'kafka': {
      c.keys(
        s,
        [
          'brokers',
          'topic',
          'groupId',
          'startFrom',
          'bounded',
          'format',
          'onError',
          'deadLetterTopic',
          'clientId',
          'schema',
          'partitionDiscoveryInterval',
        ],
        p,
      );
      c.duration(s, 'partitionDiscoveryInterval', p);
      const b = s['brokers'];
      if (
        !(typeof b === 'string' && b !== '') &&
        !(Array.isArray(b) && b.length > 0 && b.every((x) => typeof x === 'string'))
      ) {
        c.add(`${p}.brokers`, `expected "host:port" or a list of them, got ${show(b)}`);
      }
      c.string(s, 'topic', p);
      c.string(s, 'groupId', p, false);
      c.string(s, 'clientId', p, false);
      c.oneOf(s, 'startFrom', p, ['earliest', 'latest']);
      c.oneOf(s, 'bounded', p, ['latest']);
      c.oneOf(s, 'format', p, ['json', 'string', 'bytes']);
      const onError = c.oneOf(s, 'onError', p, ['skip', 'deadLetter']);
      if (onError === 'deadLetter') c.string(s, 'deadLetterTopic', p);
      node.schema =
        s['format'] === 'string' || s['format'] === 'bytes'
          ? { value: s['format'] === 'string' ? 'string' : 'dyn', key: 'dyn' }
          : schemaOf(c, s['schema'], `${p}.schema`);
      break;
    }
    case 'datagen': {
      c.keys(s, ['generator', 'seed', 'rate', 'count', 'startTime', 'eventRate', 'events', 'fields'], p);
      const gen = c.oneOf(s, 'generator', p, ['nexmark', 'schema'], true);
      c.number(s, 'seed', p, { integer: true });
      c.number(s, 'rate', p, { min: 0.001 });
      c.number(s, 'count', p, { integer: true, min: 0 });
      c.number(s, 'startTime', p, { integer: true, min: 0 });
      c.number(s, 'eventRate', p, { min: 0.001 });
      if (gen === 'nexmark') {
        const ev = s['events'];
        if (
          ev !== undefined &&
          !(Array.isArray(ev) && ev.length > 0 && ev.every((e) => e === 'person' || e === 'auction' || e === 'bid'))
        ) {
          c.add(`${p}.events`, `expected a non-empty list of person, auction, bid, got ${show(ev)}`);
        }
        node.schema = nexmarkSchema(Array.isArray(ev) ? (ev as string[]) : ['person', 'auction', 'bid']);
      } else if (gen === 'schema') {
        const fields = s['fields'];
        if (!isObj(fields) || Object.keys(fields).length === 0) {
          c.add(
            `${p}.fields`,
            `expected a map of field name → generator ({type: int|double|string|bool|sequence|timestamp, ...}), got ${show(fields)}`,
          );
          break;
        }
        const schema: Record<string, FieldType> = {};
        for (const [f, g] of Object.entries(fields)) {
          const fp = `${p}.fields.${f}`;
          if (!isObj(g)) {
            c.add(fp, `expected an object like {type: int, min: 0, max: 10}, got ${show(g)}`);
            continue;
          }
          c.keys(g, ['type', 'min', 'max', 'values', 'prefix', 'cardinality'], fp);
          const t = c.oneOf(g, 'type', fp, ['int', 'double', 'string', 'bool', 'sequence', 'timestamp'], true);
          const min = c.number(g, 'min', fp);
          const max = c.number(g, 'max', fp);
          if (min !== undefined && max !== undefined && max < min)
            c.add(`${fp}.max`, `expected max ≥ min (${min}), got ${max}`);
          c.number(g, 'cardinality', fp, { integer: true, min: 1 });
          c.string(g, 'prefix', fp, false);
          const vals = g['values'];
          if (vals !== undefined && !(Array.isArray(vals) && vals.length > 0))
            c.add(`${fp}.values`, `expected a non-empty list, got ${show(vals)}`);
          schema[f] = t === 'string' ? 'string' : t === 'bool' ? 'bool' : 'double';
          if (Array.isArray(vals) && vals.length > 0)
            schema[f] = typeof vals[0] === 'string' ? 'string' : typeof vals[0] === 'boolean' ? 'bool' : 'double';
        }
        node.schema = schema;
      }
      break;
    }
    case 'file': {
      c.keys(s, ['path', 'format', 'onError', 'schema'], p);
      c.string(s, 'path', p);
      c.oneOf(s, 'format', p, ['json', 'string', 'bytes']);
      c.oneOf(s, 'onError', p, ['skip', 'fail']);
      node.schema =
        s['format'] === 'string'
          ? { value: 'string' }
          : s['format'] === 'bytes'
            ? { value: 'dyn' }
            : schemaOf(c, s['schema'], `${p}.schema`);
      break;
    }
    case 'collection': {
      c.keys(s, ['records', 'schema'], p);
      const recs = s['records'];
      if (!Array.isArray(recs) || !recs.every(isObj)) {
        c.add(`${p}.records`, `expected a list of objects, got ${show(recs)}`);
        break;
      }
      node.schema =
        s['schema'] !== undefined
          ? schemaOf(c, s['schema'], `${p}.schema`)
          : recs.length > 0
            ? inferSchemaFromRecords(recs)
            : undefined;
      break;
    }
    case 'druid': {
      c.keys(s, ['url', 'query', 'refresh', 'timeout'], p);
      const url = c.string(s, 'url', p);
      if (url !== undefined && !/^https?:\/\/[^/]/.test(url))
        c.add(`${p}.url`, `expected an http(s) URL of a Druid router or broker, got ${show(url)}`);
      c.string(s, 'query', p);
      c.duration(s, 'refresh', p, { positive: true });
      c.duration(s, 'timeout', p, { positive: true });
      break;
    }
  }
  const ts = o['timestamp'];
  if (ts !== undefined) {
    const tp = `${path}.timestamp`;
    if (!isObj(ts)) {
      c.add(tp, `expected {field, format: millis|iso, maxOutOfOrderness}, got ${show(ts)}`);
      return;
    }
    c.keys(ts, ['field', 'format', 'maxOutOfOrderness', 'idleTimeout'], tp);
    const field = c.string(ts, 'field', tp);
    c.oneOf(ts, 'format', tp, ['millis', 'iso'], true);
    c.duration(ts, 'maxOutOfOrderness', tp, { required: true });
    c.duration(ts, 'idleTimeout', tp, { positive: true });
    if (field && node.schema && !(field in node.schema)) {
      c.add(
        `${tp}.field`,
        `unknown field "${field}"; the source's records have ${Object.keys(node.schema).join(', ')}`,
      );
    }
  }
}

function validateSink(c: Checker, o: Obj, path: string, node: NodeInfo): void {
  c.keys(o, ['name', 'from', ...SINK_KINDS], path);
  const kind = exactlyOneKind(c, o, SINK_KINDS, path, 'sink');
  if (!kind) return;
  node.kind = kind;
  const p = `${path}.${kind}`;
  const s = o[kind] ?? {};
  if (!isObj(s)) {
    c.add(p, `expected an object, got ${show(s)}`);
    return;
  }
  switch (kind) {
    case 'kafka': {
      c.keys(
        s,
        ['brokers', 'topic', 'key', 'format', 'clientId', 'delivery', 'transactionalIdPrefix', 'transactionTimeoutMs'],
        p,
      );
      if (s['delivery'] !== undefined && s['delivery'] !== 'exactly-once' && s['delivery'] !== 'at-least-once')
        c.add(`${p}.delivery`, `expected exactly-once or at-least-once, got ${JSON.stringify(s['delivery'])}`);
      c.string(s, 'transactionalIdPrefix', p, false);
      if (
        s['transactionTimeoutMs'] !== undefined &&
        (typeof s['transactionTimeoutMs'] !== 'number' ||
          !Number.isInteger(s['transactionTimeoutMs']) ||
          s['transactionTimeoutMs'] < 1000)
      ) {
        c.add(`${p}.transactionTimeoutMs`, 'expected an integer number of milliseconds ≥ 1000');
      }
      const b = s['brokers'];
      if (
        !(typeof b === 'string' && b !== '') &&
        !(Array.isArray(b) && b.length > 0 && b.every((x) => typeof x === 'string'))
      ) {
        c.add(`${p}.brokers`, `expected "host:port" or a list of them, got ${show(b)}`);
      }
      c.string(s, 'topic', p);
      c.oneOf(s, 'format', p, ['json', 'string']);
      c.string(s, 'clientId', p, false);
      break;
    }
    case 'console':
      c.keys(s, ['prefix'], p);
      if (s['prefix'] !== undefined && typeof s['prefix'] !== 'boolean')
        c.add(`${p}.prefix`, `expected true or false, got ${show(s['prefix'])}`);
      break;
    case 'file':
      c.keys(s, ['path'], p);
      c.string(s, 'path', p);
      break;
    case 'druid': {
      c.keys(s, ['datasourceRef', 'kafka', 'timestamp', 'transactionalIdPrefix'], p);
      c.string(s, 'datasourceRef', p);
      c.string(s, 'transactionalIdPrefix', p, false);
      const k = s['kafka'];
      if (k !== undefined) {
        if (!isObj(k)) c.add(`${p}.kafka`, `expected {brokers, topic} (the datasource's topic), got ${show(k)}`);
        else {
          c.keys(k, ['brokers', 'topic'], `${p}.kafka`);
          const b = k['brokers'];
          if (
            !(typeof b === 'string' && b !== '') &&
            !(Array.isArray(b) && b.length > 0 && b.every((x) => typeof x === 'string'))
          ) {
            c.add(`${p}.kafka.brokers`, `expected "host:port" or a list of them, got ${show(b)}`);
          }
          c.string(k, 'topic', `${p}.kafka`);
        }
      }
      const t = s['timestamp'];
      if (t !== undefined) {
        if (!isObj(t)) c.add(`${p}.timestamp`, `expected {column, format?}, got ${show(t)}`);
        else {
          c.keys(t, ['column', 'format'], `${p}.timestamp`);
          c.string(t, 'column', `${p}.timestamp`);
          c.oneOf(t, 'format', `${p}.timestamp`, ['millis', 'iso', 'auto', 'posix', 'micro', 'nano']);
        }
      }
      break;
    }
  }
}

function stepStructure(c: Checker, o: Obj, path: string, node: NodeInfo): void {
  c.keys(o, ['name', 'from', ...STEP_KINDS], path);
  const kind = exactlyOneKind(c, o, STEP_KINDS, path, 'step');
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

function parseFrom(c: Checker, o: Obj, path: string): string[] {
  const f = o['from'];
  if (typeof f === 'string' && f !== '') return [f];
  if (Array.isArray(f) && f.length > 0 && f.every((x) => typeof x === 'string' && x !== '')) return f as string[];
  c.add(`${path}.from`, `expected the name of an input (or a list of names), got ${show(f)}`);
  return [];
}

/** Validates and returns the graph with per-node metadata; throws TRIB_GRAPH_INVALID listing every issue. */
export function validateGraph(raw: unknown, pathPrefix = 'graph'): ValidatedGraph {
  const { graph, issues } = checkGraph(raw, pathPrefix);
  if (!graph) {
    const lines = issues.map((i) => `${i.path}: ${i.message}`);
    throw new TributaryError(
      'TRIB_GRAPH_INVALID',
      `invalid graph (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
      {
        issues,
        path: issues[0]?.path,
      },
    );
  }
  return graph;
}

/** Non-throwing form: `graph` is set only when there are no issues. */
export function checkGraph(raw: unknown, pathPrefix = 'graph'): { graph?: ValidatedGraph; issues: ValidationIssue[] } {
  const c = new Checker();
  const P = pathPrefix;
  if (!isObj(raw)) {
    c.add(P, `expected an object with sources, steps and sinks, got ${show(raw)}`);
    return { issues: c.issues };
  }
  c.keys(raw, ['sources', 'steps', 'sinks'], P);
  const sections: [string, NodeRole][] = [
    ['sources', 'source'],
    ['steps', 'step'],
    ['sinks', 'sink'],
  ];
  const nodes = new Map<string, NodeInfo>();
  const entries: { o: Obj; path: string; node: NodeInfo }[] = [];
  for (const [section, role] of sections) {
    const list = raw[section];
    if (list === undefined && section === 'steps') continue;
    if (!Array.isArray(list) || (section !== 'steps' && list.length === 0)) {
      c.add(`${P}.${section}`, `expected a ${section === 'steps' ? '' : 'non-empty '}list, got ${show(list)}`);
      continue;
    }
    list.forEach((o: unknown, i: number) => {
      const path = `${P}.${section}[${i}]`;
      if (!isObj(o)) {
        c.add(path, `expected an object, got ${show(o)}`);
        return;
      }
      const name = o['name'];
      if (typeof name !== 'string' || !NAME.test(name)) {
        c.add(`${path}.name`, `expected a name of letters, digits, '_', '-', '.', got ${show(name)}`);
        return;
      }
      const node: NodeInfo = {
        name,
        role,
        kind: 'filter',
        path,
        inputs: role === 'source' ? [] : parseFrom(c, o, path),
        consumers: [],
        schema: undefined,
      };
      const prev = nodes.get(name);
      if (prev) {
        c.add(`${path}.name`, `duplicate name "${name}" (also ${prev.path})`);
        return;
      }
      nodes.set(name, node);
      entries.push({ o, path, node });
      if (role === 'source') validateSource(c, o, path, node);
      else if (role === 'sink') validateSink(c, o, path, node);
      else stepStructure(c, o, path, node);
      if (role === 'sink' && Array.isArray(o['from']))
        c.add(`${path}.from`, `expected one input for a sink, got a list`);
    });
  }
  // Side outputs are named streams too.
  for (const { o, path, node } of entries) {
    if (node.kind !== 'window' || !isObj(o['window'])) continue;
    const late = o['window']['lateOutput'];
    if (late === undefined) continue;
    if (typeof late !== 'string' || !NAME.test(late)) {
      c.add(`${path}.window.lateOutput`, `expected a stream name, got ${show(late)}`);
      continue;
    }
    const prev = nodes.get(late);
    if (prev) {
      c.add(`${path}.window.lateOutput`, `duplicate name "${late}" (also ${prev.path})`);
      continue;
    }
    nodes.set(late, {
      name: late,
      role: 'sideOutput',
      kind: 'lateOutput',
      path: `${path}.window.lateOutput`,
      inputs: [node.name],
      consumers: [],
      schema: undefined,
    });
  }
  for (const { path, node } of entries) {
    node.inputs.forEach((input, i) => {
      const fp = node.inputs.length > 1 ? `${path}.from[${i}]` : `${path}.from`;
      const src = nodes.get(input);
      if (!src) {
        const known = [...nodes.values()].filter((n) => n.role !== 'sink').map((n) => n.name);
        c.add(fp, `unknown input "${input}"; expected one of ${known.join(', ') || '(none)'}`);
      } else if (src.role === 'sink') {
        c.add(fp, `"${input}" is a sink and produces no records; expected a source or a step`);
      } else if (input === node.name) {
        c.add(fp, `a step cannot read its own output`);
      } else {
        src.consumers.push(node.name);
      }
    });
  }
  for (const n of nodes.values()) if (n.role === 'sideOutput') nodes.get(n.inputs[0] as string)?.consumers.push(n.name);
  if (c.issues.length > 0) return { issues: c.issues };

  // Topological order (Kahn); whatever remains sits on a cycle.
  const indeg = new Map<string, number>();
  for (const n of nodes.values()) indeg.set(n.name, n.inputs.length);
  const order: string[] = [];
  const queue = [...nodes.values()].filter((n) => n.inputs.length === 0).map((n) => n.name);
  while (queue.length > 0) {
    const name = queue.shift() as string;
    order.push(name);
    for (const cons of (nodes.get(name) as NodeInfo).consumers) {
      const d = (indeg.get(cons) as number) - 1;
      indeg.set(cons, d);
      if (d === 0) queue.push(cons);
    }
  }
  if (order.length < nodes.size) {
    // Peel off nodes that merely sit downstream of a cycle; what remains is on one.
    const rest = new Set([...nodes.keys()].filter((n) => !order.includes(n)));
    for (let changed = true; changed;) {
      changed = false;
      for (const n of rest) {
        if (!(nodes.get(n) as NodeInfo).consumers.some((c) => rest.has(c))) {
          rest.delete(n);
          changed = true;
        }
      }
    }
    const onCycle = [...rest].map((n) => nodes.get(n) as NodeInfo);
    const first = onCycle[0] as NodeInfo;
    c.add(
      `${first.path}.from`,
      `cycle between ${onCycle.map((n) => `"${n.name}"`).join(', ')}; a graph must be acyclic`,
    );
    return { issues: c.issues };
  }
  const tables = lookupTables(raw as Pick<GraphSpec, 'steps'>);
  for (const n of nodes.values()) {
    if (n.role !== 'source') continue;
    if (tables.has(n.name) && n.kind === 'druid') {
      if (n.consumers.length > 0)
        c.add(
          n.path,
          `source "${n.name}" is a lookup table (of a lookup step) and cannot also be read as a stream by ${n.consumers.map((x) => `"${x}"`).join(', ')}`,
        );
    } else if (n.consumers.length === 0) c.add(n.path, `source "${n.name}" is not read by any step or sink`);
  }

  const byName = new Map(entries.map((e) => [e.node.name, e]));
  for (const name of order) {
    const node = nodes.get(name) as NodeInfo;
    if (node.role === 'sideOutput') {
      const win = nodes.get(node.inputs[0] as string) as NodeInfo;
      node.schema = win.schema;
      continue;
    }
    if (node.role === 'source') continue;
    const { o, path } = byName.get(name) as { o: Obj; path: string };
    const inputs = node.inputs.map((i) => nodes.get(i) as NodeInfo);
    const in0 = inputs[0] as NodeInfo;
    if (node.role === 'sink') {
      node.schema = in0.schema;
      const k = o['kafka'];
      if (isObj(k) && k['key'] !== undefined) c.expr(k['key'], `${path}.kafka.key`, in0.schema);
      continue;
    }
    validateStep(c, o, path, node, inputs, in0, nodes);
  }
  if (c.issues.length > 0) return { issues: c.issues };
  return { graph: { spec: raw as unknown as GraphSpec, nodes, order }, issues: [] };
}

function requireKeyed(c: Checker, path: string, kind: string, input: NodeInfo, allowWindow = false): boolean {
  if (input.kind === 'keyBy' || (allowWindow && input.kind === 'window')) return true;
  c.add(
    path,
    `${kind} needs a keyed input: expected "${input.name}" to be a keyBy step${allowWindow ? ' or a window' : ''} (add a keyBy step before this ${kind}), got a ${input.kind}`,
  );
  return false;
}

function validateStep(
  c: Checker,
  o: Obj,
  path: string,
  node: NodeInfo,
  inputs: NodeInfo[],
  in0: NodeInfo,
  nodes: Map<string, NodeInfo>,
): void {
  const kind = node.kind as StepKind;
  const p = `${path}.${kind}`;
  const v = o[kind];
  switch (kind) {
    case 'filter':
      c.expr(v, p, in0.schema, { bool: true });
      node.schema = in0.schema;
      break;
    case 'map': {
      if (!isObj(v) || Object.keys(v).length === 0) {
        c.add(p, `expected a map of output field → CEL expression, got ${show(v)}`);
        break;
      }
      const schema: Record<string, FieldType> = {};
      for (const [f, e] of Object.entries(v)) {
        const t = c.expr(e, `${p}.${f}`, in0.schema);
        schema[f] = t === undefined ? 'dyn' : toFieldType(t);
      }
      node.schema = schema;
      break;
    }
    case 'flatMap': {
      if (!isObj(v)) {
        c.add(p, `expected {expr: "<list expression>", as?: field}, got ${show(v)}`);
        break;
      }
      c.keys(v, ['expr', 'as'], p);
      c.expr(v['expr'], `${p}.expr`, in0.schema, { list: true });
      c.string(v, 'as', p, false);
      node.schema = undefined;
      break;
    }
    case 'keyBy': {
      const k = normalizeKeyBy(v);
      if (!k) {
        c.add(
          p,
          `expected a field name, a list of field names, {fields: [...]} or {expr: "<CEL>", as?: name}, got ${show(v)}`,
        );
        break;
      }
      node.key = k;
      if (k.kind === 'fields') {
        if (in0.schema)
          for (const f of k.fields)
            if (!(f in in0.schema))
              c.add(p, `unknown field "${f}"; the input "${in0.name}" has ${Object.keys(in0.schema).join(', ')}`);
      } else c.expr(k.expr, `${p}.expr`, in0.schema);
      node.schema = in0.schema;
      break;
    }
    case 'window': {
      if (!isObj(v)) {
        c.add(p, `expected {tumbling|sliding|session: {...}, time?, allowedLateness?, lateOutput?}, got ${show(v)}`);
        break;
      }
      c.keys(v, ['tumbling', 'sliding', 'session', 'time', 'allowedLateness', 'lateOutput'], p);
      const wk = exactlyOneKind(c, v, ['tumbling', 'sliding', 'session'] as const, p, 'window');
      const w = wk ? v[wk] : undefined;
      if (wk && !isObj(w)) c.add(`${p}.${wk}`, `expected an object, got ${show(w)}`);
      else if (wk === 'tumbling' && isObj(w)) {
        c.keys(w, ['size', 'offset'], `${p}.tumbling`);
        c.duration(w, 'size', `${p}.tumbling`, { required: true, positive: true });
        c.duration(w, 'offset', `${p}.tumbling`);
      } else if (wk === 'sliding' && isObj(w)) {
        c.keys(w, ['size', 'slide'], `${p}.sliding`);
        const size = c.duration(w, 'size', `${p}.sliding`, { required: true, positive: true });
        const slide = c.duration(w, 'slide', `${p}.sliding`, { required: true, positive: true });
        if (size !== undefined && slide !== undefined && slide > size)
          c.add(`${p}.sliding.slide`, `expected slide ≤ size (${w['size'] as string}), got ${show(w['slide'])}`);
      } else if (wk === 'session' && isObj(w)) {
        c.keys(w, ['gap'], `${p}.session`);
        c.duration(w, 'gap', `${p}.session`, { required: true, positive: true });
      }
      const time = c.oneOf(v, 'time', p, ['event', 'processing']);
      c.duration(v, 'allowedLateness', p);
      if (time === 'processing' && (v['allowedLateness'] !== undefined || v['lateOutput'] !== undefined)) {
        c.add(
          p,
          'allowedLateness and lateOutput apply to event-time windows only; processing-time windows have no late records',
        );
      }
      if (requireKeyed(c, `${path}.from`, 'window', in0)) node.key = in0.key;
      const aggs = node.consumers.filter((n) => nodes.get(n)?.role !== 'sideOutput');
      if (aggs.length !== 1 || nodes.get(aggs[0] as string)?.kind !== 'aggregate') {
        c.add(
          path,
          `a window must be read by exactly one aggregate step (its results); got ${aggs.length === 0 ? 'none' : aggs.map((a) => `"${a}" (${nodes.get(a)?.kind})`).join(', ')}`,
        );
      }
      node.schema = in0.schema;
      break;
    }
    case 'aggregate': {
      if (!isObj(v) || Object.keys(v).length === 0) {
        c.add(
          p,
          `expected a map of output field → "fn(expr)", e.g. {clicks: "count()", revenue: "sum(price)"}, got ${show(v)}`,
        );
        break;
      }
      if (!requireKeyed(c, `${path}.from`, 'aggregate', in0, true)) break;
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
        if (schema[out] !== undefined)
          c.add(`${p}.${out}`, `output field "${out}" collides with a key or window field`);
        let t = 'double';
        if (call.expr !== undefined) {
          const et = c.expr(call.expr, `${p}.${out}`, in0.schema);
          if (
            et !== undefined &&
            (call.fn === 'sum' || call.fn === 'avg') &&
            !['double', 'int', 'uint', 'dyn'].includes(et)
          ) {
            c.add(`${p}.${out}`, `${call.fn}() needs a number, got type ${et} from ${JSON.stringify(call.expr)}`);
          }
          if (call.fn === 'min' || call.fn === 'max' || call.fn === 'first' || call.fn === 'last') t = et ?? 'dyn';
        }
        schema[out] = toFieldType(t);
        calls.push(call);
      }
      node.aggregates = calls;
      node.schema = schema;
      break;
    }
    case 'union': {
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
      break;
    }
    case 'join': {
      if (!isObj(v)) {
        c.add(p, `expected {lowerBound, upperBound, select?}, got ${show(v)}`);
        break;
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
      break;
    }
    case 'dedupe': {
      if (!isObj(v)) {
        c.add(p, `expected {within: "<duration>"}, got ${show(v)}`);
        break;
      }
      c.keys(v, ['within'], p);
      c.duration(v, 'within', p, { required: true, positive: true });
      if (requireKeyed(c, `${path}.from`, 'dedupe', in0)) node.key = in0.key;
      node.schema = in0.schema;
      break;
    }
    case 'lookup': {
      if (!isObj(v)) {
        c.add(p, `expected {table: <druid source>, key: "<CEL>", column, fields?, onMissing?}, got ${show(v)}`);
        break;
      }
      c.keys(v, ['table', 'key', 'column', 'fields', 'onMissing'], p);
      const table = c.string(v, 'table', p);
      const t = table === undefined ? undefined : nodes.get(table);
      if (table !== undefined && (t?.role !== 'source' || t.kind !== 'druid')) {
        const druids = [...nodes.values()].filter((n) => n.role === 'source' && n.kind === 'druid').map((n) => n.name);
        c.add(
          `${p}.table`,
          `expected the name of a druid source (the lookup table), got ${show(table)}; druid sources: ${druids.join(', ') || '(none)'}`,
        );
      }
      c.expr(v['key'], `${p}.key`, in0.schema);
      c.string(v, 'column', p);
      const f = v['fields'];
      if (f !== undefined && !(Array.isArray(f) && f.length > 0 && f.every((x) => typeof x === 'string' && x !== '')))
        c.add(`${p}.fields`, `expected a non-empty list of column names, got ${show(f)}`);
      c.oneOf(v, 'onMissing', p, ['keep', 'drop']);
      node.schema = undefined;
      break;
    }
  }
}

/** Names of the sources that `lookup` steps use as tables: they are not streams. */
export function lookupTables(spec: Pick<GraphSpec, 'steps'>): Set<string> {
  const out = new Set<string>();
  for (const st of spec.steps ?? []) if (st.lookup && typeof st.lookup.table === 'string') out.add(st.lookup.table);
  return out;
}
