// The DataStream API: builds the same graph as YAML, in code. Names are generated
// (`filter-1`, ...) unless given. `toGraph()` returns a plain GraphSpec that validates and
// runs like a YAML one; execution lives outside graph/ (see runtime/src/api.ts).
import { TributaryError } from '../errors.ts';
import type {
  AggregateSpec,
  DatagenSourceSpec,
  FileSourceSpec,
  GraphSpec,
  KafkaSinkSpec,
  KafkaSourceSpec,
  KeyBySpec,
  SinkSpec,
  SourceSpec,
  StepSpec,
  TimestampSpec,
  WindowSpec,
} from './spec.ts';

export interface SourceOptions {
  name?: string;
  timestamp?: TimestampSpec;
}

export class GraphBuilder {
  private readonly spec: { sources: SourceSpec[]; steps: StepSpec[]; sinks: SinkSpec[] } = {
    sources: [],
    steps: [],
    sinks: [],
  };
  private counter = 0;

  /** @internal */
  uniqueName(base: string, given?: string): string {
    return given ?? `${base}-${++this.counter}`;
  }

  /** @internal */
  addStep(step: StepSpec): DataStream {
    this.spec.steps.push(step);
    return new DataStream(this, step.name);
  }

  /** @internal */
  addSink(sink: SinkSpec): void {
    this.spec.sinks.push(sink);
  }

  private source(base: string, s: Omit<SourceSpec, 'name'>, o: SourceOptions): DataStream {
    const name = this.uniqueName(base, o.name);
    this.spec.sources.push({ name, ...s, ...(o.timestamp ? { timestamp: o.timestamp } : {}) });
    return new DataStream(this, name);
  }

  fromCollection(records: Record<string, unknown>[], o: SourceOptions = {}): DataStream {
    return this.source('collection', { collection: { records } }, o);
  }

  fromKafka(kafka: KafkaSourceSpec, o: SourceOptions = {}): DataStream {
    return this.source('kafka', { kafka }, o);
  }

  fromDatagen(datagen: DatagenSourceSpec, o: SourceOptions = {}): DataStream {
    return this.source('datagen', { datagen }, o);
  }

  fromFile(file: FileSourceSpec, o: SourceOptions = {}): DataStream {
    return this.source('file', { file }, o);
  }

  toGraph(): GraphSpec {
    return structuredClone(this.spec);
  }
}

export class DataStream {
  protected readonly g: GraphBuilder;
  readonly name: string;

  constructor(g: GraphBuilder, name: string) {
    this.g = g;
    this.name = name;
  }

  filter(expr: string, name?: string): DataStream {
    return this.g.addStep({ name: this.g.uniqueName('filter', name), from: this.name, filter: expr });
  }

  map(fields: Record<string, string>, name?: string): DataStream {
    return this.g.addStep({ name: this.g.uniqueName('map', name), from: this.name, map: fields });
  }

  flatMap(expr: string, as?: string, name?: string): DataStream {
    return this.g.addStep({
      name: this.g.uniqueName('flatMap', name),
      from: this.name,
      flatMap: as ? { expr, as } : { expr },
    });
  }

  keyBy(key: KeyBySpec, name?: string): KeyedStream {
    const s = this.g.addStep({ name: this.g.uniqueName('keyBy', name), from: this.name, keyBy: key });
    return new KeyedStream(this.g, s.name);
  }

  union(others: DataStream[], name?: string): DataStream {
    return this.g.addStep({
      name: this.g.uniqueName('union', name),
      from: [this.name, ...others.map((o) => o.name)],
      union: {},
    });
  }

  toKafka(kafka: KafkaSinkSpec, name?: string): void {
    this.g.addSink({ name: this.g.uniqueName('kafka-sink', name), from: this.name, kafka });
  }

  toConsole(name?: string): void {
    this.g.addSink({ name: this.g.uniqueName('console', name), from: this.name, console: {} });
  }

  toFile(path: string, name?: string): void {
    this.g.addSink({ name: this.g.uniqueName('file-sink', name), from: this.name, file: { path } });
  }
}

export class KeyedStream extends DataStream {
  window(window: WindowSpec, name?: string): WindowedStream {
    const s = this.g.addStep({ name: this.g.uniqueName('window', name), from: this.name, window });
    return new WindowedStream(this.g, s.name, window.lateOutput);
  }

  /** A running aggregate per key (one output per input record). */
  aggregate(aggregates: AggregateSpec, name?: string): DataStream {
    return this.g.addStep({ name: this.g.uniqueName('aggregate', name), from: this.name, aggregate: aggregates });
  }

  /** Per key, the earliest record by event time passes; the key's records less than `within` after it are dropped. */
  dedupe(within: string, name?: string): DataStream {
    return this.g.addStep({ name: this.g.uniqueName('dedupe', name), from: this.name, dedupe: { within } });
  }

  intervalJoin(
    right: KeyedStream,
    bounds: { lowerBound: string; upperBound: string; select?: Record<string, string> },
    name?: string,
  ): DataStream {
    return this.g.addStep({ name: this.g.uniqueName('join', name), from: [this.name, right.name], join: bounds });
  }
}

export class WindowedStream {
  private readonly g: GraphBuilder;
  readonly name: string;
  private readonly lateOutput: string | undefined;

  constructor(g: GraphBuilder, name: string, lateOutput: string | undefined) {
    this.g = g;
    this.name = name;
    this.lateOutput = lateOutput;
  }

  aggregate(aggregates: AggregateSpec, name?: string): DataStream {
    return this.g.addStep({ name: this.g.uniqueName('aggregate', name), from: this.name, aggregate: aggregates });
  }

  /** The stream of records too late for their windows (needs `lateOutput` in the window spec). */
  lateRecords(): DataStream {
    if (!this.lateOutput)
      throw new TributaryError(
        'TRIB_GRAPH_INVALID',
        `window ${this.name} has no lateOutput; set window.lateOutput to a stream name`,
      );
    return new DataStream(this.g, this.lateOutput);
  }
}
