// The root of a DataStream API program: sources (typed by their elements), the spec the
// streams add steps and sinks to, and the registry of the functions those steps name.
// `toGraph()` returns a plain GraphSpec that validates and runs like a YAML one.
import { TributaryError } from '../errors.ts';
import { DataStream } from './datastream.ts';
import type { Rec } from '../core/record.ts';
import type { SourceDescriptor, WatermarkStrategy } from './descriptors.ts';
import type { RegisteredFunction } from './function-registry.ts';
import type {
  DatagenSourceSpec,
  FileSourceSpec,
  GraphSpec,
  KafkaSourceSpec,
  SinkSpec,
  SourceSpec,
  StepSpec,
  TimestampSpec,
} from './spec.ts';
import type { StreamGraph } from './stream-graph.ts';

export interface SourceOptions<T = Rec> {
  name?: string;
  /** Event time from a record field (the YAML form). */
  timestamp?: TimestampSpec;
  /** Event time and watermarks (the TypeScript form). */
  watermarks?: WatermarkStrategy<T>;
}

export class GraphBuilder implements StreamGraph {
  private readonly spec: {
    sources: SourceSpec[];
    steps: StepSpec[];
    sinks: SinkSpec[];
    onRecordError?: GraphSpec['onRecordError'];
  } = {
    sources: [],
    steps: [],
    sinks: [],
  };
  /** The functions the graph's function steps, keys and assigners name. */
  readonly functions = new Map<string, RegisteredFunction>();
  private counter = 0;

  /** @internal */
  uniqueName(base: string, given?: string): string {
    return given ?? `${base}-${++this.counter}`;
  }

  /** @internal */
  addStep(step: StepSpec): void {
    this.spec.steps.push(step);
  }

  /** @internal */
  addSink(sink: SinkSpec): void {
    this.spec.sinks.push(sink);
  }

  /** @internal */
  register(ref: string, f: RegisteredFunction): void {
    if (this.functions.has(ref)) throw new TributaryError('TRIB_GRAPH_INVALID', `duplicate name "${ref}"`);
    this.functions.set(ref, f);
  }

  private source<T>(base: string, s: Omit<SourceSpec, 'name'>, o: SourceOptions<T>): DataStream<T> {
    const name = this.uniqueName(base, o.name);
    let timestamp = o.timestamp;
    const w = o.watermarks;
    if (w) {
      const idle = {
        ...(w.idleTimeout ? { idleTimeout: w.idleTimeout } : {}),
        ...(w.alignment !== undefined ? { alignment: w.alignment } : {}),
      };
      if (w.assigner) {
        const ref = `${name}.timestamp`;
        this.register(ref, { kind: 'timestamp', fn: w.assigner as (v: unknown) => number });
        timestamp = { assigner: ref, maxOutOfOrderness: w.maxOutOfOrderness, ...idle };
      } else if (w.field) {
        timestamp = { field: w.field.name, format: w.field.format, maxOutOfOrderness: w.maxOutOfOrderness, ...idle };
      } else
        throw new TributaryError(
          'TRIB_GRAPH_INVALID',
          `source ${name}: the watermark strategy has no timestamps; add withTimestampAssigner(fn) or withTimestampField(name)`,
        );
    }
    this.spec.sources.push({ name, ...s, ...(timestamp ? { timestamp } : {}) });
    return new DataStream<T>(this, name);
  }

  /** Objects become records with fields (CEL steps can read them); any other values travel as they are. */
  fromCollection<T>(elements: readonly T[], o: SourceOptions<T> = {}): DataStream<T> {
    const objects = elements.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e));
    const collection = objects && elements.length > 0 ? { records: elements as Rec[] } : { values: [...elements] };
    return this.source<T>('collection', { collection }, o);
  }

  /** A source from a descriptor: `kafka({...})`, `datagen({...})`, `file({...})`. */
  fromSource<T>(source: SourceDescriptor<T>, o: SourceOptions<T> = {}): DataStream<T> {
    const kind = Object.keys(source.spec)[0] ?? 'source';
    return this.source<T>(kind, source.spec, o);
  }

  fromKafka(kafka: KafkaSourceSpec, o: SourceOptions = {}): DataStream<Rec> {
    return this.source('kafka', { kafka }, o);
  }

  fromDatagen(datagen: DatagenSourceSpec, o: SourceOptions = {}): DataStream<Rec> {
    return this.source('datagen', { datagen }, o);
  }

  fromFile(file: FileSourceSpec, o: SourceOptions = {}): DataStream<Rec> {
    return this.source('file', { file }, o);
  }

  /**
   * The job's policy for a record a step fails on, where the step says nothing itself (no
   * errorOutput, no onError): `skip` it (counted) or `fail` the job. Unset: CEL steps skip,
   * function steps fail.
   */
  setOnRecordError(policy: 'skip' | 'fail'): this {
    this.spec.onRecordError = policy;
    return this;
  }

  toGraph(): GraphSpec {
    return structuredClone(this.spec);
  }
}
