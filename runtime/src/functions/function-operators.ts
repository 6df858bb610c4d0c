// Builds the operators of `function` steps, function key selectors and timestamp assigners
// from the job code's registry. Called by the executor's OperatorFactory, so function nodes
// are chained with the built-in operators exactly as CEL nodes are.
import { TributaryError } from '../errors.ts';
import type { LoadMeter } from '../core/load-meter.ts';
import { parseDuration } from '../graph/duration.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { FunctionStepSpec, SourceSpec, WindowSpec } from '../graph/spec.ts';
import type { Mailbox } from '../operators/async-lookup.ts';
import { AsyncMapOperator } from '../operators/async-map.ts';
import type { KeySelector } from '../operators/key-selector.ts';
import type { OperatorContext, Output, StatefulOperator } from '../operators/types.ts';
import type { Rec } from '../core/record.ts';
import type { WindowKind } from '../operators/window-assigner.ts';
import { canonicalKey } from '../state/key-groups.ts';
import { RecordErrors } from '../operators/record-errors.ts';
import { effectivePolicy, functionErrorPolicy, lookupFunction } from './function-lookup.ts';
import { KeyedProcessOperator } from './keyed-process-operator.ts';
import { reduceAsAggregate, rollingAggregate, rollingReduce } from './rolling-functions.ts';
import {
  FunctionFilterOperator,
  FunctionFlatMapOperator,
  FunctionMapOperator,
} from './stateless-function-operators.ts';
import { WindowFunctionOperator } from './window-function-operator.ts';

/** What a function step's errors depend on beyond its own spec. */
export interface FunctionErrorWiring {
  /** The graph's onRecordError. */
  onRecordError: 'fail' | 'skip' | undefined;
  /** The step's errorOutput stream (map, filter and flatMap only; validation refuses the others). */
  errorOut: Output | undefined;
  /** A window's lateOutput stream (reduce and aggregate with a window whose spec names one). */
  lateOut?: Output | undefined;
}

/** What a mapAsync step needs of its slot. */
export interface AsyncStepHost {
  /** Where the calls' results are handled (the slot's loop: Slot.post). */
  mailbox: Mailbox;
  /** The slot's busy-time readers: the step registers its CapacityClock under its name. */
  load: LoadMeter;
  /** Runs the operator as a slot task that blocks its task while full and holds barriers until drained. */
  asyncOperator(op: AsyncMapOperator): void;
}

/** mapAsync's defaults: calls in flight per slot, and how long a call may take. */
export const MAP_ASYNC_CAPACITY = 100;
export const MAP_ASYNC_TIMEOUT = '30s';

export function buildFunctionOperator(
  spec: FunctionStepSpec,
  registry: FunctionRegistry | undefined,
  ctx: OperatorContext,
  out: Output,
  stateful: (op: StatefulOperator) => void,
  wiring: FunctionErrorWiring = { onRecordError: undefined, errorOut: undefined },
  host?: AsyncStepHost,
): Output {
  const where = `step "${ctx.stepName}" (function.ref)`;
  const onError = functionErrorPolicy(effectivePolicy(spec.onError, wiring.onRecordError), ctx);
  const errors = () =>
    new RecordErrors(ctx, wiring.errorOut, { unrouted: onError, routed: () => ctx.metrics.functionErrorRouted() });
  const name = ctx.stepName;
  switch (spec.kind) {
    case 'map':
      return new FunctionMapOperator(lookupFunction(registry, spec.ref, 'map', where).fn, errors(), out);
    case 'filter':
      return new FunctionFilterOperator(lookupFunction(registry, spec.ref, 'filter', where).fn, errors(), out);
    case 'flatMap':
      return new FunctionFlatMapOperator(lookupFunction(registry, spec.ref, 'flatMap', where).fn, errors(), out);
    case 'mapAsync': {
      if (!host) throw new TributaryError('TRIB_INVARIANT', `${where}: a mapAsync step is built without its slot`);
      const op = new AsyncMapOperator(
        name,
        lookupFunction(registry, spec.ref, 'mapAsync', where).fn,
        {
          capacity: spec.capacity ?? MAP_ASYNC_CAPACITY,
          timeoutMs: parseDuration(spec.timeout ?? MAP_ASYNC_TIMEOUT) ?? 30_000,
          onError,
        },
        out,
        host.mailbox,
      );
      host.load.register(name, () => op.clock.busyMs());
      host.asyncOperator(op);
      return op;
    }
    case 'process': {
      const op = new KeyedProcessOperator(
        name,
        lookupFunction(registry, spec.ref, 'process', where).fn,
        ctx,
        onError,
        out,
        { reportsEventTime: true },
      );
      stateful(op);
      return op;
    }
    case 'reduce':
    case 'aggregate': {
      const f = lookupFunction(registry, spec.ref, spec.kind, where);
      const op = spec.window
        ? new WindowFunctionOperator(
            name,
            {
              window: windowKind(spec.window),
              eventTime: (spec.window.time ?? 'event') === 'event',
              allowedLateness: parseDuration(spec.window.allowedLateness ?? '0') ?? 0,
              agg: f.kind === 'reduce' ? reduceAsAggregate(f.fn) : f.fn,
              ...(f.window ? { result: f.window } : {}),
            },
            ctx,
            onError,
            out,
            wiring.lateOut,
          )
        : new KeyedProcessOperator(
            name,
            f.kind === 'reduce' ? rollingReduce(f.fn) : rollingAggregate(f.fn),
            ctx,
            onError,
            out,
          );
      stateful(op);
      return op;
    }
  }
}

/** The key of a `keyBy: {function}` step; a throw is the exchange's (counted, record dropped), as for CEL keys. */
export function functionKeySelector(registry: FunctionRegistry | undefined, ref: string, step: string): KeySelector {
  const fn = lookupFunction(registry, ref, 'key', `step "${step}" (keyBy.function)`).fn;
  return (rec: Rec) => canonicalKey([fn(rec)]);
}

/** A source's `timestamp.assigner`; a throw or a non-finite result is a record without a valid timestamp. */
export function functionTimestampAssigner(
  registry: FunctionRegistry | undefined,
  source: SourceSpec,
): ((rec: Rec) => number) | undefined {
  const ref = source.timestamp?.assigner;
  if (ref === undefined) return undefined;
  const fn = lookupFunction(registry, ref, 'timestamp', `source "${source.name}" (timestamp.assigner)`).fn;
  return (rec) => {
    try {
      const t = fn(rec);
      return typeof t === 'number' && Number.isFinite(t) ? Math.floor(t) : Number.NaN;
    } catch {
      return Number.NaN;
    }
  };
}

export function windowKind(w: WindowSpec): WindowKind {
  if (w.tumbling)
    return {
      kind: 'tumbling',
      size: parseDuration(w.tumbling.size) ?? 0,
      offset: parseDuration(w.tumbling.offset ?? '0') ?? 0,
    };
  if (w.sliding)
    return { kind: 'sliding', size: parseDuration(w.sliding.size) ?? 0, slide: parseDuration(w.sliding.slide) ?? 0 };
  return { kind: 'session', gap: parseDuration(w.session?.gap) ?? 0 };
}
