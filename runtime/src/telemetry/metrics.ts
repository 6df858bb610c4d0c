// prom-client metrics of one job run. Counters are updated once per batch.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WeightedHistogram } from './weighted-histogram.ts';

/** Prefix of prom-client's default metrics (Node's and the process's) wherever we collect them. */
export const DEFAULT_METRICS_PREFIX = 'tributary_process_';

type Labels = Record<string, string | number>;

export class JobMetrics {
  readonly registry = new Registry();
  private readonly collectHooks: (() => void)[] = [];
  readonly recordsOut: Counter<'node'> = new Counter({
    name: 'tributary_records_out_total',
    help: 'Records emitted by a node (sources, steps) or written by a sink',
    labelNames: ['node'],
    registers: [this.registry],
  });
  readonly sourceRecordsFailed: Counter<'source' | 'reason'> = new Counter({
    name: 'tributary_source_records_failed_total',
    help: 'Source records that could not be read (unparseable, no timestamp) and were skipped or dead-lettered',
    labelNames: ['source', 'reason'],
    registers: [this.registry],
  });
  readonly deadLetterRecords: Counter<'source'> = new Counter({
    name: 'tributary_dead_letter_records_total',
    help: 'Records sent to a dead-letter topic',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly lateRecordsDropped: Counter<'step'> = new Counter({
    name: 'tributary_late_records_dropped_total',
    help: 'Records behind the watermark that were dropped (the dropped outcome of tributary_late_records_total)',
    labelNames: ['step'],
    registers: [this.registry],
  });
  readonly lateRecords: Counter<'step' | 'outcome'> = new Counter({
    name: 'tributary_late_records_total',
    help: "Records behind the watermark at an event-time step, by outcome: sent (to the window's lateOutput), dropped (counted only), decided (dedupe: decided at once, not in event-time order)",
    labelNames: ['step', 'outcome'],
    registers: [this.registry],
  });
  readonly stateExpired: Counter<'step'> = new Counter({
    name: 'tributary_state_expired_total',
    help: "Entries of a step's keyed state with a ttl that expired and were removed (on access, by the incremental sweep, before a full snapshot)",
    labelNames: ['step'],
    registers: [this.registry],
  });
  readonly expressionErrors: Counter<'step'> = new Counter({
    name: 'tributary_expression_errors_total',
    help: 'Records dropped because an expression failed on them',
    labelNames: ['step'],
    registers: [this.registry],
  });
  readonly watermark: Gauge<'slot'> = new Gauge({
    name: 'tributary_watermark_ms',
    help: 'Lowest watermark that reached the sinks of a slot (epoch ms)',
    labelNames: ['slot'],
    registers: [this.registry],
    collect: () => {
      for (const h of this.collectHooks) h();
    },
  });
  readonly recordsIn: Counter<'node'> = new Counter({
    name: 'tributary_records_in_total',
    help: 'Records received by a node (steps with an exchange or chained input, sinks)',
    labelNames: ['node'],
    registers: [this.registry],
  });
  readonly checkpoints: Counter<'kind' | 'result'> = new Counter({
    name: 'tributary_checkpoints_total',
    help: 'Checkpoints and savepoints by outcome (completed, aborted)',
    labelNames: ['kind', 'result'],
    registers: [this.registry],
  });
  readonly checkpointDuration: Histogram<'kind'> = new Histogram({
    name: 'tributary_checkpoint_duration_seconds',
    help: 'Trigger to metadata written',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly checkpointSize: Gauge<'kind'> = new Gauge({
    name: 'tributary_checkpoint_size_bytes',
    help: 'State bytes the last completed checkpoint/savepoint wrote (incremental checkpoints: what changed)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly checkpointFullSize: Gauge<'kind'> = new Gauge({
    name: 'tributary_checkpoint_full_size_bytes',
    help: 'State bytes the last completed checkpoint/savepoint references, shared files included (what a restore reads)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly checkpointAlignment: Histogram = new Histogram({
    name: 'tributary_checkpoint_alignment_seconds',
    help: 'Longest barrier alignment of a checkpoint (first to last barrier at a task)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly checkpointPhase: Histogram<'kind' | 'phase'> = new Histogram({
    name: 'tributary_checkpoint_phase_seconds',
    help: 'Checkpoint time by phase (slowest slot): align (trigger → barrier aligned at every task), snapshot (state serialized), upload (files written, sinks pre-committed), commit (last ack → metadata → sinks committed)',
    labelNames: ['kind', 'phase'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly firstCheckpoint: Gauge = new Gauge({
    name: 'tributary_first_checkpoint_seconds',
    help: 'From the job start (coordinator started: slot 0 sources open) to its first completed checkpoint',
    registers: [this.registry],
  });
  readonly lastCheckpointId: Gauge = new Gauge({
    name: 'tributary_last_checkpoint_id',
    help: 'Id of the last completed checkpoint or savepoint',
    registers: [this.registry],
  });
  // Set by the coordinator (slot 0); 0 on the other slots, so max() over a job's slots is slot 0's.
  readonly lastCheckpointTime: Gauge = new Gauge({
    name: 'tributary_last_checkpoint_timestamp_seconds',
    help: "When the last checkpoint or savepoint completed (epoch s); the coordinator's start until one has",
    registers: [this.registry],
  });
  readonly checkpointInterval: Gauge = new Gauge({
    name: 'tributary_checkpoint_interval_seconds',
    help: 'Time between periodic checkpoints (0: only on request), as the coordinator (slot 0) runs them',
    registers: [this.registry],
  });
  readonly restoreStateBytes: Gauge = new Gauge({
    name: 'tributary_restore_state_bytes',
    help: "Keyed state at this process's restore: bytes read of state files (read) vs the whole size of the files read from (files); read < files when only the slots' key groups were fetched",
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly backpressuredSeconds: Counter<'slot'> = new Counter({
    name: 'tributary_backpressured_seconds_total',
    help: 'Time tasks of a slot could not run because an output was full',
    labelNames: ['slot'],
    registers: [this.registry],
  });
  readonly sourceLag: Gauge<'source' | 'slot'> = new Gauge({
    name: 'tributary_source_lag_records',
    help: 'Records behind the end of the input (Kafka: high watermark − position, summed over owned partitions)',
    labelNames: ['source', 'slot'],
    registers: [this.registry],
  });
  // Both set at scrape time (exec/slot-load.ts publishSlotLoad), after the watermark gauge ran the hooks.
  readonly busySeconds: Counter<'slot' | 'resource'> = new Counter({
    name: 'tributary_busy_seconds_total',
    help: "Busy time of a slot by resource that can bound it: eventLoop (its thread's event-loop utilization, the process's when slots share one loop) or an async step (time-weighted share of its capacity in flight)",
    labelNames: ['slot', 'resource'],
    registers: [this.registry],
  });
  readonly sourcePartitions: Gauge<'source'> = new Gauge({
    name: 'tributary_source_partitions',
    help: 'Partitions of a Kafka source topic in all (the most slots that can read it)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly sourceUnownedPartitions: Gauge<'source' | 'topic'> = new Gauge({
    name: 'tributary_source_unowned_partitions',
    help: 'Partitions of a Kafka source topic that no slot read in the last completed checkpoint, though known long enough to have an owner (exposed by slot 0)',
    labelNames: ['source', 'topic'],
    registers: [this.registry],
  });
  readonly sourceWatermark: Gauge<'source' | 'slot'> = new Gauge({
    name: 'tributary_source_watermark_ms',
    help: 'Watermark of a source slot (epoch ms): the minimum over its partitions',
    labelNames: ['source', 'slot'],
    registers: [this.registry],
  });
  readonly operatorTimers: Gauge<'step' | 'slot'> = new Gauge({
    name: 'tributary_operator_timers',
    help: 'Timers a stateful step holds (a window step: one per key and open window until its cleanup)',
    labelNames: ['step', 'slot'],
    registers: [this.registry],
  });
  readonly stateKeys: Gauge<'step' | 'slot'> = new Gauge({
    name: 'tributary_state_keys',
    help: 'Keyed-state entries a stateful step holds on a slot, over all its states',
    labelNames: ['step', 'slot'],
    registers: [this.registry],
  });
  readonly stateBytes: Gauge<'step' | 'slot' | 'snapshot'> = new Gauge({
    name: 'tributary_state_snapshot_bytes',
    help: 'Bytes of the last snapshot of a step on a slot: snapshot="full" is its whole keyed state serialized, "delta" what changed (incremental checkpoints)',
    labelNames: ['step', 'slot', 'snapshot'],
    registers: [this.registry],
  });
  readonly stateLocalBytes: Gauge<'step' | 'slot'> = new Gauge({
    name: 'tributary_state_local_bytes',
    help: "Bytes a stateful step keeps on the slot's local volume (spec.stateBackend disk: its store's files; a cache of what checkpoints hold)",
    labelNames: ['step', 'slot'],
    registers: [this.registry],
  });
  readonly stateCachedEntries: Gauge<'step' | 'slot'> = new Gauge({
    name: 'tributary_state_cached_entries',
    help: 'Keyed-state values a stateful step keeps decoded in memory in front of its disk store (spec.stateBackend disk)',
    labelNames: ['step', 'slot'],
    registers: [this.registry],
  });
  readonly compactions: Counter<'step' | 'outcome'> = new Counter({
    name: 'tributary_state_compactions_total',
    help: 'Background compactions of incremental checkpoint chains into one full snapshot, by step and outcome (ok, failed: the chain stays)',
    labelNames: ['step', 'outcome'],
    registers: [this.registry],
  });
  readonly compactionsRunning: Gauge<'slot'> = new Gauge({
    name: 'tributary_state_compactions_running',
    help: 'Compactions of incremental checkpoint chains running on a slot now (0 or 1)',
    labelNames: ['slot'],
    registers: [this.registry],
  });
  readonly compactionSeconds: Histogram<'step'> = new Histogram({
    name: 'tributary_state_compaction_duration_seconds',
    help: 'Time a compaction of an incremental checkpoint chain took, read, merge and write (s)',
    labelNames: ['step'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly compactedBytes: Counter<'step'> = new Counter({
    name: 'tributary_state_compacted_bytes_total',
    help: 'Bytes of the full snapshots background compactions wrote',
    labelNames: ['step'],
    registers: [this.registry],
  });
  readonly operatorWatermark: Gauge<'step' | 'slot'> = new Gauge({
    name: 'tributary_operator_watermark_ms',
    help: 'Watermark of an event-time step (windows, joins, dedupe, process functions) on a slot (epoch ms): the minimum over its inputs',
    labelNames: ['step', 'slot'],
    registers: [this.registry],
  });
  readonly operatorWatermarkLag: Gauge<'step' | 'slot'> = new Gauge({
    name: 'tributary_operator_watermark_lag_ms',
    help: 'Newest record timestamp an event-time step on a slot has received minus its watermark (ms)',
    labelNames: ['step', 'slot'],
    registers: [this.registry],
  });
  readonly sourceAlignmentPaused: Gauge<'source' | 'slot'> = new Gauge({
    name: 'tributary_source_alignment_paused_seconds',
    help: 'Time a source slot had partitions paused by watermark alignment since the job started (s)',
    labelNames: ['source', 'slot'],
    registers: [this.registry],
  });
  readonly dependencyUnavailable: Gauge<'dependency' | 'component'> = new Gauge({
    name: 'tributary_dependency_unavailable',
    help: 'Whether a component of this process cannot reach an external dependency now and rides it out within its bound (1) or not (0, once it came back); docs/fault-matrix.md',
    labelNames: ['dependency', 'component'],
    registers: [this.registry],
  });
  readonly sourceWatermarkLag: Gauge<'source' | 'slot'> = new Gauge({
    name: 'tributary_source_watermark_lag_ms',
    help: 'Newest event time a source slot has seen minus its watermark (ms)',
    labelNames: ['source', 'slot'],
    registers: [this.registry],
  });
  /** Schema registry calls (runtime/src/formats/registry): outcome `ok`, an HTTP status, or `unreachable`. */
  readonly registryRequests: Counter<'operation' | 'outcome'> = new Counter({
    name: 'tributary_schema_registry_requests_total',
    help: 'Schema registry HTTP attempts by operation and outcome (ok, the HTTP status of a failure, unreachable)',
    labelNames: ['operation', 'outcome'],
    registers: [this.registry],
  });
  readonly registryCacheHits: Counter<'cache'> = new Counter({
    name: 'tributary_schema_registry_cache_hits_total',
    help: 'Schema registry lookups answered from the client cache, by cache',
    labelNames: ['cache'],
    registers: [this.registry],
  });

  /**
   * `defaultMetrics`: Node's and the process's (prom-client's defaults, `tributary_process_*`);
   * `processWide: false` leaves out the process's own (CPU, memory, file descriptors) and keeps
   * this thread's (heap, event loop, GC).
   */
  constructor(opts: { defaultMetrics?: boolean; processWide?: boolean } = {}) {
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
