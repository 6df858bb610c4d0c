// Where records carry their origin (core/origin.ts) and which exchanges pass it on. A job tracks
// origins while it has an errorOutput (any step or sink), or while a step may drop a record
// (onRecordError skip, the default: the drop's log line names the origin,
// exec/dropped-records.ts): then its Kafka sources hand each record's origin on. An exchange
// passes the origins of the batches it routes only when both
//   * its producer can hold them: a Kafka source upstream through steps that emit one record of
//     one (filter, map, flatMap, keyBy, union, a lookup on a loaded table, the function steps
//     map/filter/flatMap), across earlier exchanges too; and
//   * something behind it names them in a dead letter: a consumer reached through such steps
//     (across later exchanges too) whose records may fail into its errorOutput with their origin
//     (filter, map, flatMap, a keyBy with expr, a lookup's key, the function steps, a kafka sink's
//     key or encoding check).
// A step that merges or holds records (window, aggregate, join, dedupe, mapAsync, process, a
// lookup with fetches) ends the walk both ways: its output has no single source record, and
// it names no origin when its input fails. Every other exchange copies records without origins: no
// origin crosses it, so a job without errorOutput, or one whose dead letters all arise in the
// source's chain, pays nothing more per record.
import type { GraphSpec } from './spec.ts';
import type { NodeInfo, ValidatedGraph } from './validated-graph.ts';

/** The job tracks origins (its Kafka sources hand them on): a step or sink has an errorOutput, or may drop records. */
export function tracksOrigins(spec: GraphSpec): boolean {
  return (
    spec.onRecordError !== 'fail' ||
    (spec.steps ?? []).some((s) => s.errorOutput !== undefined) ||
    spec.sinks.some((s) => s.errorOutput !== undefined)
  );
}

/** Some step or sink has an errorOutput (whose dead letters name origins across exchanges). */
function hasErrorOutput(spec: GraphSpec): boolean {
  return (
    (spec.steps ?? []).some((s) => s.errorOutput !== undefined) || spec.sinks.some((s) => s.errorOutput !== undefined)
  );
}

/** The step emits each record of one input record and passes its origin on beside it. */
function passesOrigins(g: ValidatedGraph, node: NodeInfo): boolean {
  if (node.role !== 'step') return false;
  switch (node.kind) {
    case 'filter':
    case 'map':
    case 'flatMap':
    case 'keyBy':
    case 'union':
      return true;
    case 'lookup':
      return !fetches(g, node.name);
    case 'function': {
      const k = stepSpec(g, node.name)?.function?.kind;
      return k === 'map' || k === 'filter' || k === 'flatMap';
    }
    default:
      return false;
  }
}

/** The node fails records into an errorOutput with the origin of the batch they came in. */
function namesOrigins(g: ValidatedGraph, node: NodeInfo): boolean {
  if (node.role === 'sink') return g.spec.sinks.find((s) => s.name === node.name)?.errorOutput !== undefined;
  if (stepSpec(g, node.name)?.errorOutput === undefined) return false;
  // An async lookup's key check names the origin of the batch it was pushed with.
  return node.kind === 'lookup' || passesOrigins(g, node);
}

function stepSpec(g: ValidatedGraph, name: string) {
  return (g.spec.steps ?? []).find((s) => s.name === name);
}

/** A lookup by key with fetches (Kudu `mode: get`): it holds records across calls. */
function fetches(g: ValidatedGraph, name: string): boolean {
  const table = stepSpec(g, name)?.lookup?.table;
  return g.spec.sources.find((s) => s.name === table)?.kudu?.mode === 'get';
}

function carries(g: ValidatedGraph, name: string, seen: Set<string>): boolean {
  const node = g.nodes.get(name);
  if (node === undefined || seen.has(name)) return false;
  seen.add(name);
  if (node.role === 'source') return node.kind === 'kafka';
  return passesOrigins(g, node) && node.inputs.some((i) => carries(g, i, seen));
}

function needs(g: ValidatedGraph, name: string, seen: Set<string>): boolean {
  const node = g.nodes.get(name);
  if (node === undefined || seen.has(name)) return false;
  seen.add(name);
  if (namesOrigins(g, node)) return true;
  return passesOrigins(g, node) && node.consumers.some((c) => needs(g, c, seen));
}

/** Origins cross the exchange from `producer` to `consumer` (the head of the receiving task). */
export function originsCross(g: ValidatedGraph, producer: string, consumer: string): boolean {
  return hasErrorOutput(g.spec) && carries(g, producer, new Set()) && needs(g, consumer, new Set());
}

/**
 * A kafka sink that writes dead letters which may have crossed an exchange to it: an error
 * stream reaches it through steps that pass the records themselves on (filter, keyBy, union),
 * one of them a keyBy. Across a data plane a dead letter arrives as its JSON, without the origin
 * it was made with, so the sink rebuilds that from the JSON `origin`
 * (operators/restored-dead-letter-origins.ts) to write the original key and headers.
 */
export function restoresDeadLetterOrigins(g: ValidatedGraph, sink: string): boolean {
  const node = g.nodes.get(sink);
  if (node?.role !== 'sink' || node.kind !== 'kafka') return false;
  const reaches = (name: string, keyed: boolean, seen: Set<string>): boolean => {
    const n = g.nodes.get(name);
    const at = `${name}|${keyed}`;
    if (n === undefined || seen.has(at)) return false;
    seen.add(at);
    if (n.kind === 'errorOutput') return keyed;
    if (n.role !== 'step' || (n.kind !== 'filter' && n.kind !== 'keyBy' && n.kind !== 'union')) return false;
    return n.inputs.some((i) => reaches(i, keyed || n.kind === 'keyBy', seen));
  };
  return node.inputs.some((i) => reaches(i, false, new Set()));
}
