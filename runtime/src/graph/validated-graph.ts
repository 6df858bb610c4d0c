// What validation yields: the spec plus, per node, its role, inputs, consumers and the field
// types of the records it emits. Every field is filled in by graph/validate.ts; the planner
// and the engine read them and never re-check the spec.
import type { AggregateCall } from './aggregate-spec.ts';
import type { KeySelectorSpec } from './keys.ts';
import type { GraphSpec, SinkKind, SourceKind, StepKind } from './spec.ts';
import type { FieldTypes } from '../core/record.ts';

export type NodeRole = 'source' | 'step' | 'sink' | 'sideOutput';

export interface NodeInfo {
  name: string;
  role: NodeRole;
  kind: SourceKind | StepKind | SinkKind | 'lateOutput' | 'errorOutput';
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

/** Names of the sources that `lookup` steps use as tables: they are not streams. */
export function lookupTables(spec: Pick<GraphSpec, 'steps'>): Set<string> {
  const out = new Set<string>();
  for (const st of spec.steps ?? []) if (st.lookup && typeof st.lookup.table === 'string') out.add(st.lookup.table);
  return out;
}
