// Validates a job graph before anything starts. Every issue names the path of the bad
// field and what was expected. Structural checks run first; expressions are type-checked
// against the field types that flow from sources through steps (unknown types are `dyn`).
// The rules of a connector's own config are the connector's (connector-rules.ts): callers
// validate through connectors/validate-graph.ts, which passes every connector's rules in.
import { TributaryError, type ValidationIssue } from '../errors.ts';
import { Checker, isObj, show, type Obj } from './checker.ts';
import type { ConnectorConfigRules } from './connector-rules.ts';
import {
  ERROR_OUTPUT_CEL_STEPS,
  ERROR_OUTPUT_STEPS,
  SINK_KINDS,
  SOURCE_KINDS,
  type GraphSpec,
  type SinkKind,
} from './spec.ts';
import { normalizeKeyBy } from './keys.ts';
import { stepStructure, validateStep } from './step-rules.ts';
import { lookupTables, type NodeInfo, type NodeRole, type ValidatedGraph } from './validated-graph.ts';

/** The result types, for the engine and the planner (they live in validated-graph.ts). */
export type { NodeInfo, NodeRole, ValidatedGraph } from './validated-graph.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function validateSource(c: Checker, o: Obj, path: string, node: NodeInfo, connectors: ConnectorConfigRules): void {
  c.keys(o, ['name', 'timestamp', ...SOURCE_KINDS], path);
  const kind = c.exactlyOneKind(o, SOURCE_KINDS, path, 'source');
  if (!kind) return;
  node.kind = kind;
  const p = `${path}.${kind}`;
  const s = o[kind];
  if (!isObj(s)) {
    c.add(p, `expected an object, got ${show(s)}`);
    return;
  }
  node.schema = connectors[kind].source(c, s, p);

  const ts = o['timestamp'];
  if (ts !== undefined) {
    const tp = `${path}.timestamp`;
    if (!isObj(ts)) {
      c.add(tp, `expected {field, format: millis|iso, maxOutOfOrderness}, got ${show(ts)}`);
      return;
    }
    c.keys(ts, ['field', 'format', 'assigner', 'maxOutOfOrderness', 'idleTimeout', 'alignment'], tp);
    let field: string | undefined;
    if (ts['assigner'] !== undefined) {
      c.string(ts, 'assigner', tp);
      if (ts['field'] !== undefined || ts['format'] !== undefined)
        c.add(tp, 'expected either field and format, or assigner (a timestamp function), not both');
    } else {
      field = c.string(ts, 'field', tp);
      c.oneOf(ts, 'format', tp, ['millis', 'iso'], true);
    }
    c.duration(ts, 'maxOutOfOrderness', tp, { required: true });
    c.duration(ts, 'idleTimeout', tp, { positive: true });
    validateAlignment(c, ts['alignment'], `${tp}.alignment`);
    if (field && node.schema && !(field in node.schema)) {
      c.add(
        `${tp}.field`,
        `unknown field "${field}"; the source's records have ${Object.keys(node.schema).join(', ')}`,
      );
    }
  }
}

function validateAlignment(c: Checker, a: unknown, path: string): void {
  if (a === undefined || a === false) return;
  if (!isObj(a)) {
    c.add(path, `expected {group?, maxDrift, updateInterval?} or false, got ${show(a)}`);
    return;
  }
  c.keys(a, ['group', 'maxDrift', 'updateInterval'], path);
  c.string(a, 'group', path, false);
  c.duration(a, 'maxDrift', path, { required: true });
  c.duration(a, 'updateInterval', path, { positive: true });
}

function validateSink(c: Checker, o: Obj, path: string, node: NodeInfo, connectors: ConnectorConfigRules): void {
  c.keys(o, ['name', 'from', 'errorOutput', ...SINK_KINDS], path);
  const kind = c.exactlyOneKind(o, SINK_KINDS, path, 'sink');
  if (!kind) return;
  node.kind = kind;
  const p = `${path}.${kind}`;
  const s = o[kind] ?? {};
  if (!isObj(s)) {
    c.add(p, `expected an object, got ${show(s)}`);
    return;
  }
  connectors[kind].sink.check(c, s, p);
}

function parseFrom(c: Checker, o: Obj, path: string): string[] {
  const f = o['from'];
  if (typeof f === 'string' && f !== '') return [f];
  if (Array.isArray(f) && f.length > 0 && f.every((x) => typeof x === 'string' && x !== '')) return f as string[];
  c.add(`${path}.from`, `expected the name of an input (or a list of names), got ${show(f)}`);
  return [];
}

/**
 * Validates and returns the graph with per-node metadata; throws TRIB_GRAPH_INVALID listing
 * every issue. `connectors`: the config rules of every connector kind.
 */
export function validateGraphWith(
  raw: unknown,
  connectors: ConnectorConfigRules,
  pathPrefix = 'graph',
): ValidatedGraph {
  const { graph, issues } = checkGraphWith(raw, connectors, pathPrefix);
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

/** A node as its spec gives it: the object and its path. */
interface Entry {
  o: Obj;
  path: string;
  node: NodeInfo;
}

/** Non-throwing form: `graph` is set only when there are no issues. */
export function checkGraphWith(
  raw: unknown,
  connectors: ConnectorConfigRules,
  pathPrefix = 'graph',
): { graph?: ValidatedGraph; issues: ValidationIssue[] } {
  const c = new Checker();
  const P = pathPrefix;
  if (!isObj(raw)) {
    c.add(P, `expected an object with sources, steps and sinks, got ${show(raw)}`);
    return { issues: c.issues };
  }
  c.keys(raw, ['sources', 'steps', 'sinks', 'onRecordError'], P);
  c.oneOf(raw, 'onRecordError', P, ['skip', 'fail']);
  const nodes = new Map<string, NodeInfo>();
  const entries = collectNodes(c, raw, P, nodes, connectors);
  addSideOutputs(c, entries, nodes);
  linkInputs(c, entries, nodes);
  if (c.issues.length > 0) return { issues: c.issues };
  const order = topologicalOrder(c, nodes);
  if (!order) return { issues: c.issues };
  checkLookupTables(c, raw, nodes);
  typeNodes(c, entries, nodes, order, connectors);
  if (c.issues.length > 0) return { issues: c.issues };
  return { graph: { spec: raw as unknown as GraphSpec, nodes, order }, issues: [] };
}

/** The sources, steps and sinks, each checked on its own: its name, its kind and its config. */
function collectNodes(
  c: Checker,
  raw: Obj,
  P: string,
  nodes: Map<string, NodeInfo>,
  connectors: ConnectorConfigRules,
): Entry[] {
  const sections: [string, NodeRole][] = [
    ['sources', 'source'],
    ['steps', 'step'],
    ['sinks', 'sink'],
  ];
  const entries: Entry[] = [];
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
      if (role === 'source') validateSource(c, o, path, node, connectors);
      else if (role === 'sink') validateSink(c, o, path, node, connectors);
      else stepStructure(c, o, path, node);
      if (role === 'sink' && Array.isArray(o['from']))
        c.add(`${path}.from`, `expected one input for a sink, got a list`);
    });
  }
  return entries;
}

/** Side outputs (late records of a window, error records of a step or sink) are named streams too. */
function addSideOutputs(c: Checker, entries: Entry[], nodes: Map<string, NodeInfo>): void {
  const sideOutput = (name: unknown, path: string, producer: NodeInfo, kind: 'lateOutput' | 'errorOutput') => {
    if (typeof name !== 'string' || !NAME.test(name)) {
      c.add(path, `expected a stream name, got ${show(name)}`);
      return;
    }
    const prev = nodes.get(name);
    if (prev) {
      c.add(path, `duplicate name "${name}" (also ${prev.path})`);
      return;
    }
    nodes.set(name, {
      name,
      role: 'sideOutput',
      kind,
      path,
      inputs: [producer.name],
      consumers: [],
      schema: undefined,
    });
  };
  for (const { o, path, node } of entries) {
    if (node.kind === 'window' && isObj(o['window']) && o['window']['lateOutput'] !== undefined)
      sideOutput(o['window']['lateOutput'], `${path}.window.lateOutput`, node, 'lateOutput');
    const fw = node.kind === 'function' && isObj(o['function']) ? o['function']['window'] : undefined;
    if (isObj(fw) && fw['lateOutput'] !== undefined)
      sideOutput(fw['lateOutput'], `${path}.function.window.lateOutput`, node, 'lateOutput');
    if (node.role !== 'source' && o['errorOutput'] !== undefined) {
      const why = node.role === 'sink' ? sinkErrorOutputRefusal(o) : errorOutputRefusal(o, node.kind);
      if (why === undefined) sideOutput(o['errorOutput'], `${path}.errorOutput`, node, 'errorOutput');
      else c.add(`${path}.errorOutput`, why);
    }
  }
}

/** Each `from` names a node that produces records: the node becomes one of its consumers. */
function linkInputs(c: Checker, entries: Entry[], nodes: Map<string, NodeInfo>): void {
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
}

/** Topological order (Kahn); whatever remains sits on a cycle, which is reported (undefined). */
function topologicalOrder(c: Checker, nodes: Map<string, NodeInfo>): string[] | undefined {
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
  if (order.length === nodes.size) return order;
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
  c.add(`${first.path}.from`, `cycle between ${onCycle.map((n) => `"${n.name}"`).join(', ')}; a graph must be acyclic`);
  return undefined;
}

/** A druid or kudu source that a lookup step uses as its table is not a stream: nothing else reads it. */
function checkLookupTables(c: Checker, raw: Obj, nodes: Map<string, NodeInfo>): void {
  const tables = lookupTables(raw as Pick<GraphSpec, 'steps'>);
  for (const n of nodes.values()) {
    if (n.role !== 'source') continue;
    if (tables.has(n.name) && (n.kind === 'druid' || n.kind === 'kudu')) {
      if (n.consumers.length > 0)
        c.add(
          n.path,
          `source "${n.name}" is a lookup table (of a lookup step) and cannot also be read as a stream by ${n.consumers.map((x) => `"${x}"`).join(', ')}`,
        );
    } else if (n.consumers.length === 0) c.add(n.path, `source "${n.name}" is not read by any step or sink`);
  }
}

/** In topological order: each step's and sink's options and expressions against its inputs' field types. */
function typeNodes(
  c: Checker,
  entries: Entry[],
  nodes: Map<string, NodeInfo>,
  order: string[],
  connectors: ConnectorConfigRules,
): void {
  const byName = new Map(entries.map((e) => [e.node.name, e]));
  for (const name of order) {
    const node = nodes.get(name) as NodeInfo;
    if (node.role === 'sideOutput') {
      // Late records keep their step's fields; error records are {step, error, code?, record, origin?}.
      const producer = nodes.get(node.inputs[0] as string) as NodeInfo;
      node.schema = node.kind === 'lateOutput' ? producer.schema : undefined;
      continue;
    }
    if (node.role === 'source') continue;
    const { o, path } = byName.get(name) as { o: Obj; path: string };
    const inputs = node.inputs.map((i) => nodes.get(i) as NodeInfo);
    const in0 = inputs[0] as NodeInfo;
    if (node.role === 'sink') {
      node.schema = in0.schema;
      const kind = node.kind as SinkKind;
      const cfg = o[kind] ?? {};
      const typed = connectors[kind].sink.checkTyped;
      if (typed && isObj(cfg)) typed(c, cfg, `${path}.${kind}`, in0.schema);
      continue;
    }
    validateStep(c, o, path, node, inputs, in0, nodes);
  }
}

/** Why a step may not name an errorOutput (undefined: it may). */
function errorOutputRefusal(o: Record<string, unknown>, kind: string): string | undefined {
  const fn = isObj(o['function']) ? o['function'] : undefined;
  if (kind === 'function' && fn) {
    if (!(ERROR_OUTPUT_STEPS as readonly unknown[]).includes(fn['kind']))
      return `applies to function steps of kind ${ERROR_OUTPUT_STEPS.join(', ')}, not ${show(fn['kind'])}`;
    if (fn['onError'] !== undefined)
      return 'and function.onError both say what happens to a record the function throws on; keep one';
    return undefined;
  }
  if (kind === 'keyBy' && normalizeKeyBy(o['keyBy'])?.kind === 'fields')
    return 'applies to a keyBy on an expression or a function; a key of fields cannot fail on a record';
  if (kind === 'join' && !(isObj(o['join']) && o['join']['select'] !== undefined))
    return 'applies to a join with select (its expressions); a join without select evaluates none';
  if ((ERROR_OUTPUT_CEL_STEPS as readonly string[]).includes(kind)) return undefined;
  return `applies to ${ERROR_OUTPUT_CEL_STEPS.join(', ')} steps (records their expressions fail on), not ${kind}`;
}

/**
 * Why a sink may not name an errorOutput (undefined: it may): only a kafka sink's key expression, or its encoding in
 * a schema registry format (connectors/kafka/registry-encoding.ts), can fail per record.
 */
function sinkErrorOutputRefusal(o: Record<string, unknown>): string | undefined {
  const kafka = o['kafka'];
  if (isObj(kafka) && kafka['key'] !== undefined) return undefined;
  if (isObj(kafka) && ['avro', 'protobuf', 'json-schema'].includes(kafka['format'] as string)) return undefined;
  return 'applies to a kafka sink with key or a registry format (what can fail per record); this sink has neither';
}
