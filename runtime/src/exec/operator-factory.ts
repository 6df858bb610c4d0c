// Turns a graph node into the operator instance of one slot: filter, map, flatMap, window + aggregate, rolling
// aggregate, union, interval join, dedupe, lookup, and function steps (runtime/src/functions). Expressions compile
// once per job (the cache is keyed by step and role) and are shared by every slot. How an operator's outputs are
// wired (chained, or into an exchange) is the caller's: `wiring`.
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { druidTableLoader, druidTableOutage } from '../connectors/druid/druid-lookup-loader.ts';
import type { ReportOutage } from '../core/outage.ts';
import { kuduTableLoader, kuduTableOutage } from '../connectors/kudu/kudu-lookup-loader.ts';
import { KuduPointLookup } from '../connectors/kudu/kudu-point-lookup.ts';
import { asList } from '../connectors/lookup-key.ts';
import { LookupTable } from '../connectors/lookup-table.ts';
import { AsyncLookupOperator } from '../operators/async-lookup.ts';
import type { AsyncOperator } from '../operators/async-operator.ts';
import { lookupCacheEntries, lookupFetchedKeys, lookupRefreshes } from './lookup-metrics.ts';
import { isTributaryError, TributaryError } from '../errors.ts';
import { compileExpr, type CompiledExpr } from '../expr/cel.ts';
import { parseDuration } from '../graph/duration.ts';
import { keyOutputFields } from '../graph/keys.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { KuduSourceSpec, SinkSpec, SourceSpec, StepSpec, WindowSpec } from '../graph/spec.ts';
import { buildFunctionOperator, functionKeySelector, windowKind } from '../functions/function-operators.ts';
import type { NodeInfo, ValidatedGraph } from '../graph/validate.ts';
import { createAggregator } from '../operators/aggregators.ts';
import { DedupeOperator } from '../operators/dedupe.ts';
import { FilterOperator } from '../operators/filter.ts';
import { FlatMapOperator } from '../operators/flat-map.ts';
import { IntervalJoinOperator } from '../operators/interval-join.ts';
import { KeyCheckOperator } from '../operators/key-check.ts';
import { exprKeySelector, fieldsKeySelector, type KeySelector } from '../operators/key-selector.ts';
import { LookupOperator } from '../operators/lookup.ts';
import { MapOperator } from '../operators/map.ts';
import { RecordErrors } from '../operators/record-errors.ts';
import { RollingAggregateOperator } from '../operators/rolling-aggregate.ts';
import type { OperatorContext, Output, StatefulOperator } from '../operators/types.ts';
import type { SinkOperator } from './sink-operator.ts';
import { UnionOperator } from '../operators/union.ts';
import { WindowAggregateOperator } from '../operators/window-aggregate.ts';
import { keyGroupRangeForSlot } from '../state/key-groups.ts';
const NONE = Object.freeze({ start: 0, end: -1 }); // a joining slot's key-group range (backends replace, never mutate)
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { Slot } from './slot.ts';
import { DroppedRecords, recordFailed } from './dropped-records.ts';

/** What the slot being built provides to an operator. */
export interface OperatorWiring {
  /** The outputs of node `name` (its chained successors and exchanges). */
  outputsOf(name: string): Output;
  /** A stateful operator was built: restore it, snapshot it at checkpoints. */
  stateful(op: StatefulOperator): void;
  /** A lookup table was built: loaded before the sources open, closed at the end. */
  table(t: OpenedTable): void;
  /** Where a component of this slot (e.g. `lookup:<table>:<slot>`, unique per slot) reports its outages. */
  outageReporter(key: string): ReportOutage;
  /** An operator that waits on I/O: it blocks its task while busy, holds barriers, and runs as a slot task. */
  asyncOperator(op: AsyncOperator): void;
}

/** A lookup step's table: opened before the sources, closed when the job ends. */
export interface OpenedTable {
  open(): Promise<void>;
  close(): void;
}

/** `stateStore`: where stateful steps keep keyed state (absent: the heap). */
export interface OperatorFactoryOptions extends Pick<OperatorContext, 'stateStore'> {
  graph: ValidatedGraph;
  parallelism: number;
  maxParallelism: number;
  metrics: JobMetrics;
  logger: Logger;
  /** Functions of the job's code that `function` steps, function keys and assigners name. */
  functions?: FunctionRegistry;
  dropped?: DroppedRecords; // where dropped records are reported (default: the factory's own, on `logger`)
}

export class OperatorFactory {
  private readonly o: OperatorFactoryOptions;
  private readonly exprCache = new Map<string, CompiledExpr>();
  private readonly joined = new Set<number>();
  readonly dropped: DroppedRecords; // records this job's steps dropped in this process

  constructor(o: OperatorFactoryOptions) {
    this.o = o;
    this.dropped = o.dropped ?? new DroppedRecords(o.logger);
  }

  /** Slot `slot` joins the running job: its keyed backends own nothing until a step installs key groups. */
  joining(slot: number): void {
    this.joined.add(slot);
  }

  node(name: string): NodeInfo {
    return this.o.graph.nodes.get(name) as NodeInfo;
  }

  /** Everything an operator of step `step` on `slot` sees of the job. */
  context(step: string, slot: Slot): OperatorContext {
    const { parallelism, maxParallelism, metrics } = this.o;
    return {
      stepName: step,
      slot: slot.index,
      parallelism,
      maxParallelism,
      keyGroupRange: this.joined.has(slot.index) ? NONE : keyGroupRangeForSlot(slot.index, parallelism, maxParallelism),
      processingTime: slot,
      ...(this.o.stateStore ? { stateStore: this.o.stateStore } : {}),
      metrics: {
        lateRecords: (outcome, n) => {
          metrics.lateRecords.labels(step, outcome).inc(n);
          // The older counter of dropped records only, kept for dashboards that read it.
          if (outcome === 'dropped') metrics.lateRecordsDropped.labels(step).inc(n);
        },
        expressionError: (e, record, origin) => {
          metrics.expressionErrors.labels(step).inc();
          if (this.o.graph.spec.onRecordError === 'fail') throw recordFailed(step, e, record);
          this.dropped.dropped(step, e, origin);
        },
        expressionErrorRouted: () => metrics.expressionErrors.labels(step).inc(),
        functionError: (e, _record, origin) => {
          this.functionErrors().labels(step).inc();
          this.dropped.dropped(step, e, origin, 'TRIB_FUNCTION_FAILED');
        },
        functionErrorRouted: () => this.functionErrors().labels(step).inc(),
        stateExpired: (n) => metrics.stateExpired.labels(step).inc(n),
      },
    };
  }

  /** An aggregate after a keyBy: a running result per key, its accumulators kept for `ttl` when given. */
  private rollingAggregate(
    name: string,
    node: NodeInfo,
    spec: StepSpec,
    ctx: OperatorContext,
    wiring: OperatorWiring,
    errors: RecordErrors,
  ): RollingAggregateOperator {
    const inSchema = this.node(node.inputs[0] as string).schema;
    const aggregates = (node.aggregates ?? []).map((call) =>
      createAggregator(
        call,
        call.expr === undefined ? undefined : this.expr(`${name}/${call.output}`, call.expr, inSchema),
      ),
    );
    const key = keyOutputFields(node.key as NonNullable<NodeInfo['key']>);
    return new RollingAggregateOperator(
      name,
      key,
      aggregates,
      ctx,
      wiring.outputsOf(name),
      errors,
      parseDuration(spec.ttl),
    );
  }

  /** An interval join of the step's two inputs; with a `ttl`, a buffered record also expires that long after. */
  private intervalJoin(
    name: string,
    spec: StepSpec,
    ctx: OperatorContext,
    wiring: OperatorWiring,
    errors: RecordErrors,
  ): IntervalJoinOperator {
    const j = spec.join as NonNullable<StepSpec['join']>;
    let select: Record<string, CompiledExpr> | undefined;
    if (j.select) {
      select = {};
      for (const [f, e] of Object.entries(j.select))
        select[f] = this.expr(`${name}/select/${f}`, e, {}, { left: 'map', right: 'map' });
    }
    const cfg = { lowerBound: parseDuration(j.lowerBound) ?? 0, upperBound: parseDuration(j.upperBound) ?? 0, select };
    return new IntervalJoinOperator(name, cfg, ctx, wiring.outputsOf(name), errors, parseDuration(spec.ttl));
  }

  /** A dedupe: `within` absent keeps the first record per key; `ttl` forgets a key that long after it passed one. */
  private dedupe(name: string, spec: StepSpec, ctx: OperatorContext, wiring: OperatorWiring): DedupeOperator {
    const within = parseDuration(spec.dedupe?.within);
    return new DedupeOperator(name, within, ctx, wiring.outputsOf(name), parseDuration(spec.ttl));
  }

  /** The key of keyBy node `name`, for the hash exchange it feeds. */
  keySelector(name: string): KeySelector {
    const p = this.node(name);
    const k = p.key as NonNullable<NodeInfo['key']>;
    if (k.kind === 'function') return functionKeySelector(this.o.functions, k.ref, name);
    return k.kind === 'fields'
      ? fieldsKeySelector(k.fields)
      : exprKeySelector(this.expr(`${name}/key`, k.expr, this.node(p.inputs[0] as string).schema));
  }

  /** The operator of step `name` (not a source or a sink) on `slot`; a keyBy is its outputs. */
  build(name: string, slot: Slot, wiring: OperatorWiring): Output {
    const node = this.node(name);
    if (node.role === 'sideOutput') throw new TributaryError('TRIB_INVARIANT', `side output ${name} built directly`);
    const spec = (this.o.graph.spec.steps ?? []).find((s) => s.name === name) as StepSpec;
    const inSchema = this.node(node.inputs[0] as string).schema;
    const ctx = this.context(name, slot);
    const errorOut = () => (spec.errorOutput ? wiring.outputsOf(spec.errorOutput) : undefined);
    const errors = () => new RecordErrors(ctx, errorOut());
    const stateful = <T extends StatefulOperator>(op: T): T => {
      wiring.stateful(op);
      return op;
    };
    switch (node.kind) {
      case 'filter':
        return new FilterOperator(
          this.expr(`${name}/filter`, spec.filter as string, inSchema),
          ctx,
          wiring.outputsOf(name),
          errorOut(),
        );
      case 'map': {
        const fields: Record<string, CompiledExpr> = {};
        for (const [f, e] of Object.entries(spec.map ?? {})) fields[f] = this.expr(`${name}/map/${f}`, e, inSchema);
        return new MapOperator(fields, ctx, wiring.outputsOf(name), errorOut());
      }
      case 'flatMap':
        return new FlatMapOperator(
          this.expr(`${name}/flatMap`, spec.flatMap?.expr as string, inSchema),
          spec.flatMap?.as,
          ctx,
          wiring.outputsOf(name),
          errorOut(),
        );
      case 'keyBy':
        // With an errorOutput the keys are checked before the exchange (operators/key-check.ts).
        return spec.errorOutput
          ? new KeyCheckOperator(this.keySelector(name), wiring.outputsOf(name), errors())
          : wiring.outputsOf(name);
      case 'window': {
        const aggName = node.consumers.find((c) => this.node(c).kind === 'aggregate') as string;
        const aggNode = this.node(aggName);
        const aggErrorOutput = (this.o.graph.spec.steps ?? []).find((s) => s.name === aggName)?.errorOutput;
        const w = spec.window as WindowSpec;
        const lateName = w.lateOutput;
        const aggregates = (aggNode.aggregates ?? []).map((call) =>
          createAggregator(
            call,
            call.expr === undefined ? undefined : this.expr(`${aggName}/${call.output}`, call.expr, inSchema),
          ),
        );
        return stateful(
          new WindowAggregateOperator(
            name,
            {
              window: windowKind(w),
              eventTime: (w.time ?? 'event') === 'event',
              allowedLateness: parseDuration(w.allowedLateness ?? '0') ?? 0,
              keyFields: keyOutputFields(node.key as NonNullable<NodeInfo['key']>),
              aggregates,
            },
            ctx,
            wiring.outputsOf(aggName),
            lateName ? wiring.outputsOf(lateName) : undefined,
            // The arguments are the aggregate step's: its name and its errorOutput.
            new RecordErrors(
              this.context(aggName, slot),
              aggErrorOutput ? wiring.outputsOf(aggErrorOutput) : undefined,
            ),
          ),
        );
      }
      case 'aggregate':
        return stateful(this.rollingAggregate(name, node, spec, ctx, wiring, errors()));
      case 'union':
        return new UnionOperator(wiring.outputsOf(name));
      case 'join':
        return stateful(this.intervalJoin(name, spec, ctx, wiring, errors()));
      case 'function':
        return buildFunctionOperator(
          spec.function as NonNullable<StepSpec['function']>,
          this.o.functions,
          ctx,
          wiring.outputsOf(name),
          (op) => wiring.stateful(op),
          {
            onRecordError: this.o.graph.spec.onRecordError,
            errorOut: errorOut(),
            lateOut: spec.function?.window?.lateOutput ? wiring.outputsOf(spec.function.window.lateOutput) : undefined,
          },
          {
            mailbox: slot,
            load: slot.load,
            asyncOperator: (op) => {
              wiring.table({ open: () => Promise.resolve(), close: () => op.close() }); // drops calls at the end
              wiring.asyncOperator(op);
            },
          },
        );
      case 'dedupe':
        return stateful(this.dedupe(name, spec, ctx, wiring));
      case 'lookup': {
        const l = spec.lookup as NonNullable<StepSpec['lookup']>;
        const src = this.o.graph.spec.sources.find((x) => x.name === l.table) as SourceSpec;
        if (src.kudu?.mode === 'get') return this.pointLookup(name, l, src.kudu, inSchema, errors(), slot, wiring);
        const table = new LookupTable({
          name: l.table,
          load: src.kudu
            ? kuduTableLoader(l.table, src.kudu)
            : druidTableLoader(l.table, src.druid as NonNullable<SourceSpec['druid']>),
          refresh: (src.kudu ?? src.druid)?.refresh,
          columns: asList(l.column),
          logger: this.o.logger,
          onRefresh: (r) => lookupRefreshes(this.o.metrics.registry).labels(l.table, r).inc(),
          outage: src.kudu
            ? kuduTableOutage(src.kudu, wiring.outageReporter(`lookup:${l.table}:${slot.index}`))
            : druidTableOutage(
                src.druid as NonNullable<SourceSpec['druid']>,
                wiring.outageReporter(`lookup:${l.table}:${slot.index}`),
              ),
        });
        wiring.table(table);
        return new LookupOperator(
          table,
          {
            key: this.lookupKey(name, l, inSchema),
            columns: asList(l.column),
            ...(l.fields ? { fields: l.fields } : {}),
            onMissing: l.onMissing ?? 'keep',
          },
          wiring.outputsOf(name),
          errors(),
        );
      }
      default:
        throw new TributaryError('TRIB_INVARIANT', `cannot build ${node.kind} step ${name}`);
    }
  }

  /**
   * What sink `name` is written through: for a kafka sink with a key, or a writer with a
   * checkRecord (a registry format's encoding), a check of the key and the record in front of
   * `sink` (the writer never sees a record they fail on): such a record goes to the sink's
   * errorOutput, else follows onRecordError (skip: counted and not written; fail: the job fails
   * naming the sink and the key expression or the encoding error). Else `sink` itself. The check
   * runs in the sink's task, where the records are.
   */
  sinkInput(name: string, sink: SinkOperator, slot: Slot, wiring: OperatorWiring): Output {
    const spec = this.o.graph.spec.sinks.find((s) => s.name === name) as SinkSpec;
    const key = spec.kafka?.key;
    const check = sink.writer.checkRecord;
    if (key === undefined && check === undefined) return sink;
    // Compiled as the kafka writer compiles it (no input schema), so both agree on every record.
    const expr = key === undefined ? undefined : this.expr(`${name}/key`, key, undefined);
    return new KeyCheckOperator(
      (r) => {
        try {
          expr?.evaluate(r);
        } catch (e) {
          const code = isTributaryError(e) ? e.code : 'TRIB_EXPR_EVAL';
          throw new TributaryError(code, `key ${JSON.stringify(key)}: ${(e as Error).message}`, { cause: e });
        }
        check?.(r);
      },
      sink,
      new RecordErrors(
        this.context(name, slot),
        spec.errorOutput === undefined ? undefined : wiring.outputsOf(spec.errorOutput),
      ),
    );
  }

  /** A lookup step's key expressions, one per key column (compiled once per job). */
  private lookupKey(name: string, l: NonNullable<StepSpec['lookup']>, inSchema: NodeInfo['schema']): CompiledExpr[] {
    if (typeof l.key === 'string') return [this.expr(`${name}/lookup/key`, l.key, inSchema)];
    return l.key.map((k, i) => this.expr(`${name}/lookup/key/${i}`, k, inSchema));
  }

  /** A lookup step on a kudu source in `mode: get`: point gets through a bounded cache, records waiting on them. */
  private pointLookup(
    name: string,
    l: NonNullable<StepSpec['lookup']>,
    kudu: KuduSourceSpec,
    inSchema: NodeInfo['schema'],
    errors: RecordErrors,
    slot: Slot,
    wiring: OperatorWiring,
  ): Output {
    const fetched = lookupFetchedKeys(this.o.metrics.registry).labels(l.table);
    const entries = lookupCacheEntries(this.o.metrics.registry).labels(l.table, String(slot.index));
    const table = new KuduPointLookup({
      name: l.table,
      spec: kudu,
      columns: asList(l.column),
      onFetched: (n) => fetched.inc(n),
      onCacheSize: (n) => entries.set(n),
      logger: this.o.logger,
      reportOutage: wiring.outageReporter(`lookup:${l.table}:${slot.index}`),
    });
    const op = new AsyncLookupOperator(
      name,
      table,
      {
        key: this.lookupKey(name, l, inSchema),
        columns: asList(l.column),
        ...(l.fields ? { fields: l.fields } : {}),
        onMissing: l.onMissing ?? 'keep',
      },
      wiring.outputsOf(name),
      errors,
      slot,
    );
    wiring.table({
      open: () => table.open(),
      close: () => {
        op.close();
        table.close();
      },
    });
    wiring.asyncOperator(op);
    return op;
  }

  private expr(
    cacheKey: string,
    source: string,
    schema: NodeInfo['schema'],
    extra?: Record<string, 'map'>,
  ): CompiledExpr {
    let e = this.exprCache.get(cacheKey);
    if (!e) {
      e = compileExpr(source, schema, extra, cacheKey);
      this.exprCache.set(cacheKey, e);
    }
    return e;
  }

  /** tributary_function_errors_total{step}: records a job's function threw on (skipped or dead-lettered). */
  private functionErrors(): Counter<'step'> {
    const name = 'tributary_function_errors_total';
    const registry = this.o.metrics.registry;
    return (
      (registry.getSingleMetric(name) as Counter<'step'> | undefined) ??
      new Counter({
        name,
        help: "Records a function of the job's code threw on and that were skipped or sent to the step's errorOutput",
        labelNames: ['step'],
        registers: [registry],
      })
    );
  }
}
