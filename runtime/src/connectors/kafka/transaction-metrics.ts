// Metrics of the exactly-once Kafka sink's transactions, labelled {sink, slot} (docs:
// docs/runtime/architecture.md, "Exactly-once Kafka sink metrics"). The families are created
// once per registry; every sink instance of the process (each slot, each in-process restart)
// adds its series. Without a registry (a sink used outside a job) they go to a private one.
import { Counter, Gauge, Registry } from 'prom-client';
import { weightedHistogram, type WeightedHistogram } from '../../telemetry/weighted-histogram.ts';

type Labels = 'sink' | 'slot';
type LabelSet = Record<Labels, string>;

/** Why a transaction was aborted: the sink aborted it at a stop, or a recovery fenced it. */
export type AbortReason = 'stopped' | 'recovery';

/** Visibility latency buckets (s): from a 100 ms checkpoint interval up to the 900 s transaction timeout. */
export const VISIBILITY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900];

/** What one transaction held: records, bytes (message key + value), and when its records reached the sink. */
export interface TxnContent {
  records: number;
  bytes: number;
  /** Arrival groups, flat: [epoch ms, record count, epoch ms, record count, …]. */
  arrivals: number[];
}

interface Families {
  begun: Counter<Labels>;
  committed: Counter<Labels>;
  aborted: Counter<Labels | 'reason'>;
  abortedBytes: Counter<Labels>;
  committedRecords: Counter<Labels>;
  committedBytes: Counter<Labels>;
  visibility: WeightedHistogram<Labels>;
  oldestOpen: Gauge<Labels>;
  /** Per `sink/slot`: the start (epoch ms) of its oldest open transaction, read at scrape time. */
  openSince: Map<string, { labels: LabelSet; since: () => number | undefined }>;
}

const byRegistry = new WeakMap<Registry, Families>();

function counter<T extends string>(registry: Registry, name: string, help: string, labelNames: T[]): Counter<T> {
  return (
    (registry.getSingleMetric(name) as Counter<T> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}

function families(registry: Registry): Families {
  const known = byRegistry.get(registry);
  if (known) return known;
  const labels: Labels[] = ['sink', 'slot'];
  const openSince: Families['openSince'] = new Map();
  const f: Families = {
    begun: counter(
      registry,
      'tributary_kafka_sink_transactions_begun_total',
      'Kafka transactions begun by an exactly-once sink',
      labels,
    ),
    committed: counter(
      registry,
      'tributary_kafka_sink_transactions_committed_total',
      'Kafka transactions committed (on checkpoint completion, at the end of input, or by a recovery)',
      labels,
    ),
    aborted: counter(
      registry,
      'tributary_kafka_sink_transactions_aborted_total',
      'Kafka transactions aborted: by the sink at a stop (reason="stopped") or fenced by a recovery that found them open (reason="recovery")',
      [...labels, 'reason'],
    ),
    abortedBytes: counter(
      registry,
      'tributary_kafka_sink_aborted_bytes_total',
      'Message key+value bytes written into transactions that were then aborted',
      labels,
    ),
    committedRecords: counter(
      registry,
      'tributary_kafka_sink_committed_records_total',
      'Records in committed transactions',
      labels,
    ),
    committedBytes: counter(
      registry,
      'tributary_kafka_sink_committed_bytes_total',
      'Message key+value bytes in committed transactions',
      labels,
    ),
    visibility: weightedHistogram(registry, {
      name: 'tributary_kafka_sink_visibility_latency_seconds',
      help: 'Time from a record reaching the sink to the commit of its transaction (when read_committed readers can see it); one observation per record',
      labelNames: labels,
      buckets: VISIBILITY_BUCKETS,
    }),
    oldestOpen:
      (registry.getSingleMetric('tributary_kafka_sink_oldest_open_transaction_seconds') as Gauge<Labels> | undefined) ??
      new Gauge({
        name: 'tributary_kafka_sink_oldest_open_transaction_seconds',
        help: 'Age of the oldest transaction the sink has open (begun, not committed or aborted); 0 when none',
        labelNames: labels,
        registers: [registry],
        collect() {
          const now = Date.now();
          for (const { labels: l, since } of openSince.values()) {
            const t = since();
            this.set(l, t === undefined ? 0 : Math.max(0, now - t) / 1000);
          }
        },
      }),
    openSince,
  };
  byRegistry.set(registry, f);
  return f;
}

/** The transaction metrics of one sink in one slot. */
export class TransactionMetrics {
  private readonly labels: LabelSet;
  private readonly f: Families;

  constructor(registry: Registry | undefined, sink: string, slot: number, oldestOpenSince: () => number | undefined) {
    this.labels = { sink, slot: String(slot) };
    this.f = families(registry ?? new Registry());
    // A restarted sink of the same slot replaces the previous one's entry.
    this.f.openSince.set(`${sink}/${slot}`, { labels: this.labels, since: oldestOpenSince });
  }

  /** The sink closed: its oldest-open gauge is no longer set at scrape time (a drained slot's series can go). */
  close(): void {
    const key = `${this.labels.sink}/${this.labels.slot}`;
    if (this.f.openSince.get(key)?.labels === this.labels) this.f.openSince.delete(key);
  }

  begun(): void {
    this.f.begun.inc(this.labels);
  }

  /** A transaction of this sink committed: counts it, its records and bytes, and one visibility latency per record. */
  committed(t: TxnContent, now = Date.now()): void {
    this.f.committed.inc(this.labels);
    this.f.committedRecords.inc(this.labels, t.records);
    this.f.committedBytes.inc(this.labels, t.bytes);
    for (let i = 0; i + 1 < t.arrivals.length; i += 2)
      this.f.visibility.observe(
        this.labels,
        Math.max(0, now - (t.arrivals[i] as number)) / 1000,
        t.arrivals[i + 1] as number,
      );
  }

  /** A restored transaction committed by a recovery: its records were counted by no running sink. */
  committedRestored(): void {
    this.f.committed.inc(this.labels);
  }

  aborted(reason: AbortReason, bytes: number): void {
    this.f.aborted.inc({ ...this.labels, reason });
    if (bytes > 0) this.f.abortedBytes.inc(this.labels, bytes);
  }
}
