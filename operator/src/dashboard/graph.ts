// The dashboard's job graph from a StreamJob's spec.graph: every source, step and sink as a node
// (its role and kind, never its connector's settings: those may name hosts, paths and Secrets),
// and one edge per input named by `from` (a window's lateOutput or a step's errorOutput stream is
// drawn from the node that emits it) and per lookup table. An application-mode job (a job module,
// no spec.graph) has no graph here: the nodes its slots report come from the sampler.
import type { GraphSpec, SinkSpec, SourceSpec, StepSpec } from '../../../runtime/src/graph/spec.ts';
import { SINK_KINDS, SOURCE_KINDS, STEP_KINDS } from '../../../runtime/src/graph/spec.ts';
import type { DashboardEdge, DashboardNode } from '../../../runtime/src/dashboard/model.ts';

export interface DashboardGraph {
  readonly nodes: DashboardNode[];
  readonly edges: DashboardEdge[];
}

function kindOf(node: object, kinds: readonly string[]): string {
  return kinds.find((k) => (node as Record<string, unknown>)[k] !== undefined) ?? 'unknown';
}

/** The nodes and edges of `graph`; an absent graph is an empty one. */
export function graphOf(graph: GraphSpec | undefined): DashboardGraph {
  if (!graph) return { nodes: [], edges: [] };
  const sources: readonly SourceSpec[] = graph.sources ?? [];
  const steps: readonly StepSpec[] = graph.steps ?? [];
  const sinks: readonly SinkSpec[] = graph.sinks ?? [];
  const nodes: DashboardNode[] = [
    ...sources.map((s): DashboardNode => ({ id: s.name, role: 'source', kind: kindOf(s, SOURCE_KINDS) })),
    ...steps.map((s): DashboardNode => ({ id: s.name, role: 'step', kind: kindOf(s, STEP_KINDS) })),
    ...sinks.map((s): DashboardNode => ({ id: s.name, role: 'sink', kind: kindOf(s, SINK_KINDS) })),
  ];
  // A side stream (lateOutput, errorOutput) is named by `from` like a node: it comes out of its emitter.
  const emitter = new Map<string, string>();
  for (const s of [...steps, ...sinks]) if (s.errorOutput) emitter.set(s.errorOutput, s.name);
  for (const s of steps) if (s.window?.lateOutput) emitter.set(s.window.lateOutput, s.name);
  const keyed = new Set(steps.filter((s) => s.keyBy !== undefined).map((s) => s.name));
  const edges: DashboardEdge[] = [];
  const link = (input: string, to: string) => {
    const from = emitter.get(input) ?? input;
    // Records leaving a keyBy are repartitioned by key; every other edge stays in its slot.
    edges.push({ from, to, exchange: keyed.has(from) && !emitter.has(input) ? 'hash' : 'forward' });
  };
  for (const s of steps) {
    for (const input of typeof s.from === 'string' ? [s.from] : (s.from ?? [])) link(input, s.name);
    // Every slot reads the whole table (or gets by key from it): it reaches the step in each slot.
    if (s.lookup?.table) edges.push({ from: s.lookup.table, to: s.name, exchange: 'broadcast' });
  }
  for (const s of sinks) link(s.from, s.name);
  return { nodes, edges };
}
