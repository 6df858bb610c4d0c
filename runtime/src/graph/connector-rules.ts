// The contract between the graph validator and the connectors' config rules. graph/ never
// imports connectors/ (the operator imports this folder without the engine), so the
// validator takes every connector's rules as an argument: connectors/validate-graph.ts
// passes the table of all of them, which makes it the one entry point for full validation.
//
// A rule checks the object under its kind key (e.g. `graph.sources[0].kafka`, given as
// `path`) and records issues in the checker; it never throws. The graph-level fields around
// it (name, from, timestamp) and the choice of exactly one kind are the validator's.
import type { Checker, Obj } from './checker.ts';
import type { SinkKind, SourceKind } from './spec.ts';
import type { FieldTypes } from '../core/record.ts';

/** Checks a source's config; returns the field types of the records it emits (undefined = unknown, all dyn). */
export type SourceConfigRule = (c: Checker, cfg: Obj, path: string) => FieldTypes | undefined;

export interface SinkConfigRule {
  check(c: Checker, cfg: Obj, path: string): void;
  /** Expressions in the config, typed against the sink's input; runs only on a graph with no structural issue. */
  checkTyped?(c: Checker, cfg: Obj, path: string, input: FieldTypes | undefined): void;
}

/** One connector's rules: for its source kind, its sink kind, or both. */
export interface ConnectorConfigRule {
  readonly source?: SourceConfigRule;
  readonly sink?: SinkConfigRule;
}

/** Rules for every connector kind; the compiler rejects a table missing a source or sink kind of spec.ts. */
export type ConnectorConfigRules = { readonly [K in SourceKind]: { readonly source: SourceConfigRule } } & {
  readonly [K in SinkKind]: { readonly sink: SinkConfigRule };
};
