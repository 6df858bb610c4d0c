// Which fields of a record the consumer of a keyed exchange reads, so that records crossing
// slots carry only those (the receiving slot parses and holds less; the key and the timestamp
// travel beside the record, not in it). A window aggregate or a rolling aggregate reads a
// record only through its aggregate arguments; when each is count() or a bare field name, the
// record may shrink to those fields. Anything else keeps the whole record:
//   * any argument expression (its fields would need the expression's free variables);
//   * a window's lateOutput (late records leave whole) or the aggregate's errorOutput (a failed
//     record is written whole to the dead-letter stream);
//   * any other consumer (map, filter, join, dedupe, functions: they read or emit the record).
// A field the record lacks stays absent, so an argument fails on it as it would unprojected;
// under `onRecordError: fail` the TRIB_RECORD_FAILED such a failure raises shows the fields
// the aggregate reads. A record that is not an object (the TypeScript API's strings and
// numbers) crosses whole. Only records crossing threads or processes are projected.
import { isBareField } from '../expr/cel.ts';
import type { AggregateCall } from './aggregate-spec.ts';
import type { ValidatedGraph } from './validated-graph.ts';

/** Fields `consumer` (the head of a keyed exchange's receiving task) reads; undefined: the whole record. */
export function exchangeProjection(g: ValidatedGraph, consumer: string): readonly string[] | undefined {
  const node = g.nodes.get(consumer);
  const steps = g.spec.steps ?? [];
  const step = (name: string) => steps.find((s) => s.name === name);
  const spec = step(consumer);
  if (!node || !spec || spec.function !== undefined) return undefined;
  let aggName = consumer;
  if (node.kind === 'window') {
    if (spec.window?.lateOutput !== undefined || node.consumers.length !== 1) return undefined;
    aggName = node.consumers[0] as string;
  } else if (node.kind !== 'aggregate') return undefined;
  const agg = g.nodes.get(aggName);
  const aggSpec = step(aggName);
  if (agg?.kind !== 'aggregate' || !aggSpec || aggSpec.function !== undefined || aggSpec.errorOutput !== undefined)
    return undefined;
  return fieldsOf(agg.aggregates ?? []);
}

function fieldsOf(calls: readonly AggregateCall[]): readonly string[] | undefined {
  const fields = new Set<string>();
  for (const c of calls) {
    if (c.expr === undefined) continue;
    if (!isBareField(c.expr)) return undefined;
    fields.add(c.expr.trim());
  }
  return [...fields];
}
