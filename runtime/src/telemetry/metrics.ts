// prom-client metrics of one job run. Counters are updated once per batch.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WeightedHistogram } from './weighted-histogram.ts';

/** Prefix of prom-client's default metrics (Node's and the process's) wherever we collect them. */
export const DEFAULT_METRICS_PREFIX = 'tributary_process_';

type Labels = Record<string, string | number>;

export class JobMetrics {
  readonly registry = new Registry();
  readonly recordsOut: Counter<'node'>;
  readonly sourceRecordsFailed: Counter<'source' | 'reason'>;
  readonly deadLetterRecords: Counter<'source'>;
  readonly lateRecordsDropped: Counter<'step'>;
  readonly lateRecords: Counter<'step' | 'outcome'>;
  readonly expressionErrors: Counter<'step'>;
  readonly watermark: Gauge<'slot'>;
  readonly recordsIn: Counter<'node'>;
  readonly checkpoints: Counter<'kind' | 'result'>;
  readonly checkpointDuration: Histogram<'kind'>;
  readonly checkpointSize: Gauge<'kind'>;
  readonly checkpointAlignment: Histogram;
  readonly checkpointPhase: Histogram<'kind' | 'phase'>;
  readonly firstCheckpoint: Gauge;
  readonly lastCheckpointId: Gauge;
  readonly lastCheckpointTime: Gauge;
  readonly checkpointInterval: Gauge;
  readonly restoreStateBytes: Gauge;
  readonly backpressuredSeconds: Counter<'slot'>;
  readonly sourceLag: Gauge<'source' | 'slot'>;
  readonly busySeconds: Counter<'slot' | 'resource'>;
  readonly sourcePartitions: Gauge<'source'>;
  readonly sourceUnownedPartitions: Gauge<'source' | 'topic'>;
  readonly sourceWatermark: Gauge<'source' | 'slot'>;
  readonly sourceWatermarkLag: Gauge<'source' | 'slot'>;
  readonly sourceAlignmentPaused: Gauge<'source' | 'slot'>;
  readonly dependencyUnavailable: Gauge<'dependency' | 'component'>;
  readonly operatorTimers: Gauge<'step' | 'slot'>;
  readonly operatorWatermark: Gauge<'step' | 'slot'>;
  readonly operatorWatermarkLag: Gauge<'step' | 'slot'>;
  /** Schema registry calls (runtime/src/formats/registry): outcome `ok`, an HTTP status, or `unreachable`. */
  readonly registryRequests: Counter<'operation' | 'outcome'>;
  readonly registryCacheHits: Counter<'cache'>;
  private readonly collectHooks: (() => void)[] = [];

  /**
   * `defaultMetrics`: Node's and the process's (prom-client's defaults, `tributary_process_*`);
   * `processWide: false` leaves out the process's own (CPU, memory, file descriptors) and keeps
   * this thread's (heap, event loop, GC).
   */
  constructor(opts: { defaultMetrics?: boolean; processWide?: boolean } = {}) {
    const registers = [this.registry];
    this.recordsOut = new Counter({
      name: 'tributary_records_out_total',
      help: 'Records emitted by a node (sources, steps) or written by a sink',
      labelNames: ['node'],
      registers,
    });
    this.sourceRecordsFailed = new Counter({
      name: 'tributary_source_records_failed_total',
      help: 'Source records that could not be read (unparseable, no timestamp) and were skipped or dead-lettered',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.deadLetterRecords = new Counter({
      name: 'tributary_dead_letter_records_total',
      help: 'Records sent to a dead-letter topic',
      labelNames: ['source'],
      registers,
    });
    this.lateRecordsDropped = new Counter({
      name: 'tributary_late_records_dropped_total',
      help: 'Records behind the watermark that were dropped (the dropped outcome of tributary_late_records_total)',
      labelNames: ['step'],
      registers,
    });
    this.lateRecords = new Counter({
      name: 'tributary_late_records_total',
      help: "Records behind the watermark at an event-time step, by outcome: sent (to the window's lateOutput), dropped (counted only), decided (dedupe: decided at once, not in event-time order)",
      labelNames: ['step', 'outcome'],
      registers,
    });
    this.expressionErrors = new Counter({
      name: 'tributary_expression_errors_total',
      help: 'Records dropped because an expression failed on them',
      labelNames: ['step'],
      registers,
    });
    const hooks = this.collectHooks;
    this.watermark = new Gauge({
      name: 'tributary_watermark_ms',
      help: 'Lowest watermark that reached the sinks of a slot (epoch ms)',
      labelNames: ['slot'],
      registers,
      collect() {
        for (const h of hooks) h();
      },
    });
    this.recordsIn = new Counter({
      name: 'tributary_records_in_total',
      help: 'Records received by a node (steps with an exchange or chained input, sinks)',
      labelNames: ['node'],
      registers,
    });
    this.checkpoints = new Counter({
      name: 'tributary_checkpoints_total',
      help: 'Checkpoints and savepoints by outcome (completed, aborted)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.checkpointDuration = new Histogram({
      name: 'tributary_checkpoint_duration_seconds',
      help: 'Trigger to metadata written',
      labelNames: ['kind'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.checkpointSize = new Gauge({
      name: 'tributary_checkpoint_size_bytes',
      help: 'State bytes of the last completed checkpoint/savepoint',
      labelNames: ['kind'],
      registers,
    });
    this.checkpointAlignment = new Histogram({
      name: 'tributary_checkpoint_alignment_seconds',
      help: 'Longest barrier alignment of a checkpoint (first to last barrier at a task)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.checkpointPhase = new Histogram({
      name: 'tributary_checkpoint_phase_seconds',
      help: 'Checkpoint time by phase (slowest slot): align (trigger → barrier aligned at every task), snapshot (state serialized), upload (files written, sinks pre-committed), commit (last ack → metadata → sinks committed)',
      labelNames: ['kind', 'phase'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.firstCheckpoint = new Gauge({
      name: 'tributary_first_checkpoint_seconds',
      help: 'From the job start (coordinator started: slot 0 sources open) to its first completed checkpoint',
      registers,
    });
    this.lastCheckpointId = new Gauge({
      name: 'tributary_last_checkpoint_id',
      help: 'Id of the last completed checkpoint or savepoint',
      registers,
    });
    // Set by the coordinator (slot 0); 0 on the other slots, so max() over a job's slots is slot 0's.
    this.lastCheckpointTime = new Gauge({
      name: 'tributary_last_checkpoint_timestamp_seconds',
      help: "When the last checkpoint or savepoint completed (epoch s); the coordinator's start until one has",
      registers,
    });
    this.checkpointInterval = new Gauge({
      name: 'tributary_checkpoint_interval_seconds',
      help: 'Time between periodic checkpoints (0: only on request), as the coordinator (slot 0) runs them',
      registers,
    });
    this.restoreStateBytes = new Gauge({
      name: 'tributary_restore_state_bytes',
      help: "Keyed state at this process's restore: bytes read of state files (read) vs the whole size of the files read from (files); read < files when only the slots' key groups were fetched",
      labelNames: ['kind'],
      registers,
    });
    this.backpressuredSeconds = new Counter({
      name: 'tributary_backpressured_seconds_total',
      help: 'Time tasks of a slot could not run because an output was full',
      labelNames: ['slot'],
      registers,
    });
    this.sourceLag = new Gauge({
      name: 'tributary_source_lag_records',
      help: 'Records behind the end of the input (Kafka: high watermark − position, summed over owned partitions)',
      labelNames: ['source', 'slot'],
      registers,
    });
    // Both set at scrape time (exec/slot-load.ts publishSlotLoad), after the watermark gauge ran the hooks.
    this.busySeconds = new Counter({
      name: 'tributary_busy_seconds_total',
      help: "Busy time of a slot by resource that can bound it: eventLoop (its thread's event-loop utilization, the process's when slots share one loop) or an async step (time-weighted share of its capacity in flight)",
      labelNames: ['slot', 'resource'],
      registers,
    });
    this.sourcePartitions = new Gauge({
      name: 'tributary_source_partitions',
      help: 'Partitions of a Kafka source topic in all (the most slots that can read it)',
      labelNames: ['source'],
      registers,
    });
    this.sourceUnownedPartitions = new Gauge({
      name: 'tributary_source_unowned_partitions',
      help: 'Partitions of a Kafka source topic that no slot read in the last completed checkpoint, though known long enough to have an owner (exposed by slot 0)',
      labelNames: ['source', 'topic'],
      registers,
    });
    this.sourceWatermark = new Gauge({
      name: 'tributary_source_watermark_ms',
      help: 'Watermark of a source slot (epoch ms): the minimum over its partitions',
      labelNames: ['source', 'slot'],
      registers,
    });
    this.operatorTimers = new Gauge({
      name: 'tributary_operator_timers',
      help: 'Timers a stateful step holds (a window step: one per key and open window until its cleanup)',
      labelNames: ['step', 'slot'],
      registers,
    });
    this.operatorWatermark = new Gauge({
      name: 'tributary_operator_watermark_ms',
      help: 'Watermark of an event-time step (windows, joins, dedupe, process functions) on a slot (epoch ms): the minimum over its inputs',
      labelNames: ['step', 'slot'],
      registers,
    });
    this.operatorWatermarkLag = new Gauge({
      name: 'tributary_operator_watermark_lag_ms',
      help: 'Newest record timestamp an event-time step on a slot has received minus its watermark (ms)',
      labelNames: ['step', 'slot'],
      registers,
    });
    this.sourceAlignmentPaused = new Gauge({
      name: 'tributary_source_alignment_paused_seconds',
      help: 'Time a source slot had partitions paused by watermark alignment since the job started (s)',
      labelNames: ['source', 'slot'],
      registers,
    });
    this.dependencyUnavailable = new Gauge({
      name: 'tributary_dependency_unavailable',
      help: 'Whether a component of this process cannot reach an external dependency now and rides it out within its bound (1) or not (0, once it came back); docs/fault-matrix.md',
      labelNames: ['dependency', 'component'],
      registers,
    });
    this.sourceWatermarkLag = new Gauge({
      name: 'tributary_source_watermark_lag_ms',
      help: 'Newest event time a source slot has seen minus its watermark (ms)',
      labelNames: ['source', 'slot'],
      registers,
    });
    this.registryRequests = new Counter({
      name: 'tributary_schema_registry_requests_total',
      help: 'Schema registry HTTP attempts by operation and outcome (ok, the HTTP status of a failure, unreachable)',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.registryCacheHits = new Counter({
      name: 'tributary_schema_registry_cache_hits_total',
      help: 'Schema registry lookups answered from the client cache, by cache',
      labelNames: ['cache'],
      registers,
    });
    if (opts.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: DEFAULT_METRICS_PREFIX });
      // A slot on a worker thread shares its process: the process's CPU, memory and files are
      // the supervisor's to report once, or the job-wide sum would count them once per slot.
      if (opts.processWide === false)
        for (const m of this.registry.getMetricsAsArray())
          if (m.name.startsWith(`${DEFAULT_METRICS_PREFIX}process_`)) this.registry.removeSingleMetric(m.name);
    }
  }

  /**
   * Removes every series labelled with `slot` (its `slot` label), of every metric in the registry:
   * the slot left the job (a live rescale drained it), so its gauges must leave /metrics, and its
   * label sets must not pile up over rescales. prom-client removes only a full label set, so the
   * sets are read from its per-metric map (hashMap, the store its remove() deletes from). A series
   * set at scrape time by a collect() must have stopped first (a closed sink's: TransactionMetrics.close).
   */
  removeSlot(slot: number): void {
    const label = String(slot);
    for (const m of this.registry.getMetricsAsArray()) {
      const weighted: unknown = m;
      if (weighted instanceof WeightedHistogram) weighted.removeLabelled('slot', label);
      const series = m as unknown as { labelNames?: string[]; hashMap?: Record<string, { labels: Labels }> };
      if (!series.labelNames?.includes('slot') || !series.hashMap) continue;
      for (const { labels } of Object.values(series.hashMap))
        if (String(labels['slot']) === label) (m as unknown as { remove(l: Labels): void }).remove(labels);
    }
  }

  /** Runs `fn` on every scrape, before gauges are read (the job publishes its watermarks). */
  onCollect(fn: () => void): void {
    this.collectHooks.push(fn);
  }
}
