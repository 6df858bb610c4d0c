// The alarm for a Kafka partition no slot reads (docs/design/live-rescale.md §5, "Partitions found during a
// rescale"). Each slot takes the partitions the owner rule gives it (connectors/kafka/partition-assignment.ts);
// no slot sees what the others took, and a partition the rule gives a slot that is gone, or a slot still
// holding after a live rescale, is read by no one — silently: lag counts owned partitions only, so neither the
// lag metric nor the autoscaler sees it. Slot 0 sees both halves: the topic's partitions (its own source's
// discovery) and, in every completed checkpoint, the partitions each slot's source recorded. A partition of
// the topic that no slot recorded, though slot 0 has known it long enough for its owner to have found and
// started it (two discovery intervals and a margin: owners discover on their own clocks), is unowned:
// `tributary_source_unowned_partitions{source,topic}` counts them and a warning names each once, and again
// once a slot reads it. While a live rescale holds found partitions they count too (nobody reads them then).
// Without checkpoints nothing is checked: no live rescale, so the rule at the job's parallelism holds for ever.
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { CheckpointMetadata } from '../checkpoint/metadata.ts';
import { partitionsOf } from '../checkpoint/recorded-partitions.ts';
import { DEFAULT_DISCOVERY_MS } from '../connectors/kafka/kafka-source.ts';
import { parseDuration } from '../graph/duration.ts';
import type { SourceSpec } from '../graph/spec.ts';

/** Beyond two discovery intervals: an owner's assignment (start positions from the broker) takes time too. */
const MARGIN_MS = 5_000;

const iso = (ms: number | undefined): string => new Date(ms ?? 0).toISOString();

interface Watched {
  readonly spec: SourceSpec;
  readonly topic: string;
  readonly graceMs: number;
  /** When slot 0 first knew of each partition (ms since the epoch). */
  readonly knownSince: number[];
  /** The partitions reported unowned last time. */
  unowned: Set<number>;
}

export class UnownedPartitions {
  private readonly watched: Watched[] = [];
  private readonly gauge: Gauge<'source' | 'topic'>;
  private readonly logger: Logger;

  constructor(sources: readonly SourceSpec[], gauge: Gauge<'source' | 'topic'>, logger: Logger) {
    this.gauge = gauge;
    this.logger = logger;
    for (const spec of sources) {
      const k = spec.kafka;
      if (!k || k.bounded) continue; // a bounded read's partitions are fixed at its start
      const discoveryMs = parseDuration(k.partitionDiscoveryInterval) ?? DEFAULT_DISCOVERY_MS;
      this.watched.push({
        spec,
        topic: k.topic,
        graceMs: 2 * discoveryMs + MARGIN_MS,
        knownSince: [],
        unowned: new Set(),
      });
    }
  }

  /** The partitions no slot read as of the last completed checkpoint, per source (none listed: every one has). */
  list(): { source: string; topic: string; partitions: number[] }[] {
    return this.watched
      .filter((w) => w.unowned.size > 0)
      .map((w) => ({ source: w.spec.name, topic: w.topic, partitions: [...w.unowned].sort((a, b) => a - b) }));
  }

  /**
   * A checkpoint completed with `meta`; `partitions(source)` is the topic's partition count slot 0's source
   * knows now (0 while it waits for the topic). `now`: ms since the epoch.
   */
  checkpointed(
    meta: Pick<CheckpointMetadata, 'sources' | 'triggeredAt' | 'checkpointId'>,
    partitions: (source: string) => number,
    now = Date.now(),
  ): void {
    const triggered = Date.parse(meta.triggeredAt);
    const owned = new Set(
      partitionsOf(
        meta,
        this.watched.map((w) => w.spec),
      ).map((p) => `${p.source}|${p.partition}`),
    );
    for (const w of this.watched) {
      const name = w.spec.name;
      const count = partitions(name);
      for (let p = w.knownSince.length; p < count; p++) w.knownSince.push(now);
      const unowned = new Set<number>();
      for (let p = 0; p < count; p++)
        if (!owned.has(`${name}|${p}`) && (w.knownSince[p] as number) + w.graceMs <= triggered) unowned.add(p);
      for (const p of unowned)
        if (!w.unowned.has(p))
          this.logger.warn(
            {
              source: name,
              topic: w.topic,
              partition: p,
              checkpointId: meta.checkpointId,
              knownSince: iso(w.knownSince[p]),
            },
            'kafka source: no slot reads this partition of the topic (its records are not processed)',
          );
      for (const p of w.unowned)
        if (!unowned.has(p) && p < count)
          this.logger.info(
            { source: name, topic: w.topic, partition: p },
            'kafka source: a slot reads the partition now',
          );
      w.unowned = unowned;
      this.gauge.labels(name, w.topic).set(unowned.size);
    }
  }
}
