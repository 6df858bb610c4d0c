// What a stream of the DataStream API adds its steps and sinks to (GraphBuilder implements it),
// and how a function step is added: its function is registered under the step's name.
import type { RegisteredFunction } from './function-registry.ts';
import type { FunctionStepSpec, SinkSpec, StepSpec } from './spec.ts';

/**
 * A step's name, or its name and what happens to a record its function throws on: `errorOutput`
 * (map, filter, flatMap) sends it to that stream (`stream.errors()` reads it); else `onError`;
 * else the job's onRecordError; else `fail`.
 */
export type StepOptions = string | { name?: string; onError?: 'fail' | 'skip'; errorOutput?: string };

/**
 * mapAsync's options: its name, `capacity` (calls in flight at most per slot, default 100),
 * `timeout` (a duration, default 30s: a call not settled by then fails its record) and `onError`
 * for a record whose call threw, rejected or timed out (no errorOutput).
 */
export type AsyncStepOptions =
  string | { name?: string; onError?: 'fail' | 'skip'; capacity?: number; timeout?: string };

/**
 * A CEL step's (or a sink's) name, or its name and `errorOutput`: the stream that receives the
 * records its expressions (a sink: its key) fail on; `stream.errors()` reads it. Without it the
 * job's onRecordError applies.
 */
export type CelStepOptions = string | { name?: string; errorOutput?: string };

export interface StreamGraph {
  uniqueName(base: string, given?: string): string;
  addStep(step: StepSpec): void;
  addSink(sink: SinkSpec): void;
  register(ref: string, f: RegisteredFunction): void;
}

export function stepName(o: StepOptions | undefined): string | undefined {
  return typeof o === 'string' ? o : o?.name;
}

export function errorOutputOf(o: StepOptions | undefined): string | undefined {
  return typeof o === 'object' ? o.errorOutput : undefined;
}

/** Adds a `function` step reading `from`; returns its name. */
export function addFunctionStep(
  g: StreamGraph,
  from: string,
  base: string,
  f: RegisteredFunction,
  o: StepOptions | undefined,
  extra: Partial<FunctionStepSpec> = {},
): string {
  const onError = typeof o === 'object' ? o.onError : undefined;
  const errorOutput = typeof o === 'object' ? o.errorOutput : undefined;
  const name = g.uniqueName(base, stepName(o));
  g.register(name, f);
  const kind = f.kind === 'key' || f.kind === 'timestamp' ? 'map' : f.kind;
  g.addStep({
    name,
    from,
    function: { kind, ref: name, ...extra, ...(onError ? { onError } : {}) },
    ...(errorOutput !== undefined ? { errorOutput } : {}),
  });
  return name;
}
