// The admin lookups a Kafka source slot makes before it reads: the topic's partitions, their
// log offsets, and (without checkpoints) the offsets its group committed. Each retries the
// errors Kafka calls retriable (a coordinator still being elected, a partition whose leader
// the broker has not taken on yet — both common in the seconds after a broker starts or a
// topic is created) for 10 s, then fails with the last one: a slot that failed here would
// restart and ask again, so waiting here only spares the job a restart.
import type { Admin } from 'kafkajs';

const RETRY_FOR_MS = 10_000;

async function retrying<T>(lookup: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await lookup();
    } catch (e) {
      const wait = Math.min(1000, 100 * 2 ** attempt);
      if (!(e as { retriable?: boolean }).retriable || Date.now() + wait > deadline) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * The topic's partition ids, sorted; undefined when it does not exist (listed first: a metadata request for a
 * missing topic retries for seconds).
 */
export async function topicPartitions(admin: Admin, topic: string): Promise<number[] | undefined> {
  if (!(await admin.listTopics()).includes(topic)) return undefined;
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const all = (meta.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  return all.length === 0 ? undefined : all;
}

/**
 * Each partition's log start and end. kafkajs retries only UNKNOWN_TOPIC_OR_PARTITION here; a
 * NOT_LEADER_OR_FOLLOWER from a broker that has just been made the leader of a new topic's
 * partition (seen in the first second after the topic is created) is retried too. Each attempt
 * looks the leaders up again: an admin client's metadata never counts as fresh (kafkajs gives
 * it no metadataMaxAge), which also covers a leader that moved.
 */
export function logOffsets(admin: Admin, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  return retrying(() => admin.fetchTopicOffsets(topic));
}

/** Without checkpoints: the offsets group `groupId` committed for `topic`. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const res = await retrying(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  const out = new Map<number, bigint>();
  for (const p of res[0]?.partitions ?? []) if (BigInt(p.offset) >= 0n) out.set(p.partition, BigInt(p.offset));
  return out;
}
