// A Kafka source's position in a run without checkpoints: the offsets of one consumer group per
// source, `<groupId>` (scoped by kafkaIdScope, id-scope.ts), committed by the source itself —
// never by kafkajs (no autoCommit), whose commits ran ahead of what the sinks had written.
//
// * At a partition's start: its start offset (nothing below it will be read, so nothing is
//   lost by committing it; a job killed before its first clean stop then resumes there, not at
//   a `startFrom: latest` that has moved on).
// * At each commit barrier (checkpoint/commit-barriers.ts, every 5 s by default), once every sink
//   of the job acknowledged the records before it: the position the barrier recorded.
// * After the job ended and its sinks closed (flushed, acknowledged: job-run.ts): the position
//   after the last record poll() returned. Records read after the last commit are read again by
//   the next run (at-least-once: duplicates, never gaps).
//
// The group is the same at every parallelism, and nobody joins it: slots fetch through
// consumer groups of their own (kafka-source.ts) and commit here as a "simple" consumer
// (generation -1, no member id), each for the partitions it owns, which the runtime assigns
// (partitionOwner), not a group rebalance. A group that has live members (another
// application's consumers under the same groupId) refuses such commits: the error names it.
//
// Runtimes without this group committed per slot, to `<groupId>.slot-<s>-of-<p>` (the legacy
// group): a partition this group knows nothing of starts from the legacy group of the current slot
// and parallelism (read once, then this group takes over), so the first run after an upgrade
// resumes where the old one stopped (as far as the old commits, which could run ahead of the
// sinks, let it).
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { SourceReaderContext } from '../api.ts';
import { committedOffsets } from './admin-lookups.ts';
import { scopedKafkaId } from './id-scope.ts';
import { internalCluster } from './kafkajs-cluster.ts';

type GroupCoordinator = {
  offsetCommit(r: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<unknown>;
};

export class SourceGroupOffsets {
  /** The group the offsets are committed to and read from. */
  readonly groupId: string;
  /** The per-slot group of earlier versions, read for partitions `groupId` has no offset of. */
  readonly legacyGroupId: string;
  private readonly kafka: KafkaClient;
  private readonly topic: string;
  private readonly ctx: SourceReaderContext;
  /** Names the source and slot in errors. */
  private readonly name: string;

  constructor(
    kafka: KafkaClient,
    spec: Pick<KafkaSourceSpec, 'topic' | 'groupId'>,
    ctx: SourceReaderContext,
    name: string,
  ) {
    this.kafka = kafka;
    this.topic = spec.topic;
    this.ctx = ctx;
    this.name = name;
    this.groupId = scopedKafkaId(ctx.kafkaIdScope, spec.groupId ?? `tributary-${ctx.sourceName}`);
    this.legacyGroupId = `${this.groupId}.slot-${ctx.slot}-of-${ctx.parallelism}`;
  }

  /**
   * The job's sinks acknowledged every record up to `position` (partition → next offset, as snapshotPosition's), at
   * commit barrier `barrier` (logged at debug: one every few seconds), or at the job's clean end (info).
   */
  async commitPosition(position: Readonly<Record<string, string>>, barrier?: number): Promise<void> {
    const offsets = new Map(Object.entries(position).map(([p, off]) => [Number(p), BigInt(off)]));
    await this.commit(offsets);
    const { ctx } = this;
    const log = { source: ctx.sourceName, slot: ctx.slot, group: this.groupId, offsets: position };
    if (barrier === undefined) ctx.logger.info(log, 'kafka source: offsets committed after the sinks flushed');
    else ctx.logger.debug({ ...log, barrier }, 'kafka source: offsets committed at a commit barrier');
  }

  /** Committed offsets per partition: the group's, else the legacy group's (`legacy`: partitions taken from it). */
  async committed(admin: Admin): Promise<{ offsets: Map<number, bigint>; legacy: Set<number> }> {
    const { topic } = this;
    const offsets = await committedOffsets(admin, this.groupId, topic);
    const legacy = new Set<number>();
    for (const [p, off] of await committedOffsets(admin, this.legacyGroupId, topic)) {
      if (offsets.has(p)) continue;
      offsets.set(p, off);
      legacy.add(p);
    }
    return { offsets, legacy };
  }

  /** Commits `offsets` (partition → next offset to read) to the group; retries what Kafka calls retriable for ~10 s. */
  async commit(offsets: ReadonlyMap<number, bigint>): Promise<void> {
    if (offsets.size === 0) return;
    const { topic } = this;
    const partitions = [...offsets].map(([partition, off]) => ({ partition, offset: off.toString() }));
    const cluster = internalCluster<GroupCoordinator>(this.kafka, 'TRIB_CONNECTOR_FAILED', 'to commit source offsets');
    try {
      await cluster.connect();
      for (let attempt = 0; ; attempt++) {
        try {
          // The coordinator is looked up again on each attempt (NOT_COORDINATOR: it moved).
          const coordinator = await cluster.findGroupCoordinator({ groupId: this.groupId, coordinatorType: 0 });
          await coordinator.offsetCommit({
            groupId: this.groupId,
            groupGenerationId: -1,
            memberId: '',
            topics: [{ topic, partitions }],
          });
          return;
        } catch (e) {
          if (attempt >= 10 || (e as { retriable?: boolean }).retriable !== true) throw e;
          await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
        }
      }
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `${this.name}: cannot commit offsets of topic ${topic} to consumer group ${this.groupId} (a group with live members, e.g. another application's consumers, refuses them): ${(e as Error).message}`,
        { cause: e },
      );
    } finally {
      await cluster.disconnect();
    }
  }
}
