// What crds/examples/clicks.yaml wrote to `clicks-per-country`, read as a consumer downstream
// of an exactly-once sink would (read_committed), limited to the records after a starting
// position (one README run's share of a topic earlier runs also wrote to). Invariants: a
// (country, window) pair appears at most once; while clicks are fed without a break, each
// country has every minute window from the first one after the feed started to its last, and
// the counts of such a window add up to exactly what the feed generates per minute of event
// time (datagen stamps record i with startTime + i·1000/rate ms): nothing lost, nothing twice.
import { readTopic } from '../../runtime/src/testing/kafka-reader.ts';
import kafkajs from 'kafkajs';
import type { Kafka } from 'kafkajs';

export const outputTopic = 'clicks-per-country';

export interface WindowResult {
  country: string;
  window_start: number;
  window_end: number;
  clicks: number;
  users: number;
}

/** The client the checks read with. */
export function kafkaFor(brokers: string): Kafka {
  return new kafkajs.Kafka({
    clientId: 'readme-test',
    brokers: brokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

/** Next offset per partition now: the start of what comes after; empty while the topic does not exist. */
export async function topicEnd(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return new Map();
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Every committed result after `since` (per partition; a partition not in it from its start). */
export async function resultsSince(kafka: Kafka, since: ReadonlyMap<number, bigint>): Promise<WindowResult[]> {
  // Reads until the time is up: the count to expect is unknown, the topic is small.
  const records = await readTopic(kafka, outputTopic, { expected: Number.MAX_SAFE_INTEGER, timeoutMs: 12_000 });
  return records
    .filter((r) => BigInt(r.offset) >= (since.get(r.partition) ?? 0n))
    .map((r) => JSON.parse(r.value) as WindowResult);
}

/** (country, window start) pairs written more than once. */
export function duplicates(results: readonly WindowResult[]): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const r of results) {
    const k = `${r.country}@${new Date(r.window_start).toISOString()}`;
    if (seen.has(k)) dups.push(k);
    seen.add(k);
  }
  return dups;
}

/** Windows missing per country between its first window starting at or after `fromMs` and its last. */
export function gaps(results: readonly WindowResult[], fromMs: number): string[] {
  const byCountry = new Map<string, number[]>();
  for (const r of results) {
    if (r.window_start < fromMs) continue;
    byCountry.set(r.country, [...(byCountry.get(r.country) ?? []), r.window_start]);
  }
  const missing: string[] = [];
  for (const [country, starts] of byCountry) {
    const sorted = [...new Set(starts)].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) {
      for (let t = sorted[i - 1]! + 60_000; t < sorted[i]!; t += 60_000)
        missing.push(`${country}@${new Date(t).toISOString()}`);
    }
  }
  return missing;
}

/** Total clicks per window (by start) over all countries, for the windows starting at or after `fromMs`. */
export function windowTotals(results: readonly WindowResult[], fromMs: number): Map<number, number> {
  const totals = new Map<number, number>();
  for (const r of results)
    if (r.window_start >= fromMs) totals.set(r.window_start, (totals.get(r.window_start) ?? 0) + r.clicks);
  return totals;
}

/** The first minute boundary at or after `ms`: windows from there on are fully fed by a feed running at `ms`. */
export function nextMinute(ms: number): number {
  return Math.ceil(ms / 60_000) * 60_000;
}
