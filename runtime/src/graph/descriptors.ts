// What the TypeScript API takes besides functions: sources and sinks as descriptors
// (`fromSource(kafka({...}))`, `sinkTo(kafkaSink({...}))`), window assigners and watermark
// strategies. Each is plain spec data (the YAML form), typed by the element it carries; a
// watermark strategy may also carry a timestamp function, registered when the source is added.
import type {
  AlignmentSpec,
  DatagenSourceSpec,
  FileSourceSpec,
  KafkaSinkSpec,
  KafkaSourceSpec,
  SinkSpec,
  SourceSpec,
  WindowSpec,
} from './spec.ts';
import type { TimestampAssigner } from './function-types.ts';

/** A source of elements of type T; `T` is what its records look like (not checked at run time). */
export interface SourceDescriptor<T> {
  readonly spec: Omit<SourceSpec, 'name' | 'timestamp'>;
  /** Phantom: carries T for inference. */
  readonly __element?: T;
}

export type SinkDescriptor = Omit<SinkSpec, 'name' | 'from'>;

export function kafka<T = Record<string, unknown>>(spec: KafkaSourceSpec): SourceDescriptor<T> {
  return { spec: { kafka: spec } };
}

export function datagen<T = Record<string, unknown>>(spec: DatagenSourceSpec): SourceDescriptor<T> {
  return { spec: { datagen: spec } };
}

export function file<T = Record<string, unknown>>(spec: FileSourceSpec): SourceDescriptor<T> {
  return { spec: { file: spec } };
}

export function kafkaSink(spec: KafkaSinkSpec): SinkDescriptor {
  return { kafka: spec };
}

export function fileSink(path: string): SinkDescriptor {
  return { file: { path } };
}

export function consoleSink(prefix = false): SinkDescriptor {
  return { console: { prefix } };
}

/** Event time for a source's elements: bounded out-of-orderness, from a field or a function, with optional idleness. */
export class WatermarkStrategy<T> {
  readonly maxOutOfOrderness: string;
  readonly idleTimeout: string | undefined;
  readonly field: { name: string; format: 'millis' | 'iso' } | undefined;
  readonly assigner: TimestampAssigner<T> | undefined;

  /** Watermark alignment (`false`: off; undefined: the default, see graph.md). */
  readonly alignment: AlignmentSpec | false | undefined;

  private constructor(
    bound: string,
    idle?: string,
    field?: { name: string; format: 'millis' | 'iso' },
    assigner?: TimestampAssigner<T>,
    alignment?: AlignmentSpec | false,
  ) {
    this.maxOutOfOrderness = bound;
    this.idleTimeout = idle;
    this.field = field;
    this.assigner = assigner;
    this.alignment = alignment;
  }

  /** Watermark = highest timestamp seen − bound − 1 ms (a duration, e.g. "5s"). */
  static forBoundedOutOfOrderness<T>(bound: string): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(bound);
  }

  /** Timestamps never decrease: a bound of 0. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>('0ms');
  }

  /** Event time from a function of the element (epoch milliseconds). */
  withTimestampAssigner(fn: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.maxOutOfOrderness, this.idleTimeout, undefined, fn, this.alignment);
  }

  /** Event time from a field of the element (epoch milliseconds, or an ISO-8601 string). */
  withTimestampField(name: keyof T & string, format: 'millis' | 'iso' = 'millis'): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(
      this.maxOutOfOrderness,
      this.idleTimeout,
      { name, format },
      undefined,
      this.alignment,
    );
  }

  /** A source partition without records for this long stops holding back the watermark. */
  withIdleness(timeout: string): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.maxOutOfOrderness, timeout, this.field, this.assigner, this.alignment);
  }

  /**
   * Flink's withWatermarkAlignment: a partition whose watermark is more than `maxDrift` ahead
   * of the minimum over `group` (sources sharing the name) stops reading until it is not.
   */
  withWatermarkAlignment(group: string, maxDrift: string, updateInterval?: string): WatermarkStrategy<T> {
    const a: AlignmentSpec = { group, maxDrift, ...(updateInterval ? { updateInterval } : {}) };
    return new WatermarkStrategy<T>(this.maxOutOfOrderness, this.idleTimeout, this.field, this.assigner, a);
  }

  /** No watermark alignment: this source reads its partitions as fast as they come. */
  withoutWatermarkAlignment(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.maxOutOfOrderness, this.idleTimeout, this.field, this.assigner, false);
  }
}

/** Window assigners (Flink's names); each is a window spec. */
export const TumblingEventTimeWindows = {
  of: (size: string, offset?: string): WindowSpec => ({ tumbling: offset ? { size, offset } : { size } }),
};
export const TumblingProcessingTimeWindows = {
  of: (size: string, offset?: string): WindowSpec => ({
    tumbling: offset ? { size, offset } : { size },
    time: 'processing',
  }),
};
export const SlidingEventTimeWindows = {
  of: (size: string, slide: string): WindowSpec => ({ sliding: { size, slide } }),
};
export const SlidingProcessingTimeWindows = {
  of: (size: string, slide: string): WindowSpec => ({ sliding: { size, slide }, time: 'processing' }),
};
export const EventTimeSessionWindows = {
  withGap: (gap: string): WindowSpec => ({ session: { gap } }),
};
export const ProcessingTimeSessionWindows = {
  withGap: (gap: string): WindowSpec => ({ session: { gap }, time: 'processing' }),
};
