// prom-client metrics of one job run. Counters are updated once per batch.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class JobMetrics {
  readonly registry = new Registry();
  readonly recordsOut: Counter<'node'>;
  readonly sourceRecordsFailed: Counter<'source' | 'reason'>;
  readonly deadLetterRecords: Counter<'source'>;
  readonly lateRecordsDropped: Counter<'step'>;
  readonly expressionErrors: Counter<'step'>;
  readonly watermark: Gauge<'slot'>;
  private readonly collectHooks: (() => void)[] = [];

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.recordsOut = new Counter({ name: 'tributary_records_out_total', help: 'Records emitted by a node (sources, steps) or written by a sink', labelNames: ['node'], registers });
    this.sourceRecordsFailed = new Counter({
      name: 'tributary_source_records_failed_total',
      help: 'Source records that could not be read (unparseable, no timestamp) and were skipped or dead-lettered',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.deadLetterRecords = new Counter({ name: 'tributary_dead_letter_records_total', help: 'Records sent to a dead-letter topic', labelNames: ['source'], registers });
    this.lateRecordsDropped = new Counter({ name: 'tributary_late_records_dropped_total', help: 'Records behind the watermark that were dropped', labelNames: ['step'], registers });
    this.expressionErrors = new Counter({ name: 'tributary_expression_errors_total', help: 'Records dropped because an expression failed on them', labelNames: ['step'], registers });
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
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tributary_process_' });
  }

  /** Runs `fn` on every scrape, before gauges are read (the job publishes its watermarks). */
  onCollect(fn: () => void): void {
    this.collectHooks.push(fn);
  }
}
