// Slot 0's alarm for a Kafka partition no slot reads (unowned-partitions.ts), fed completed checkpoints'
// metadata as the coordinator writes it: a partition of the topic that no slot recorded counts (gauge, one
// warning naming topic and partition) once slot 0 has known it two discovery intervals and a margin before
// the checkpoint was triggered; one just found does not; once a slot records it, it no longer counts.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SourceSpec } from '../graph/spec.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { UnownedPartitions } from './unowned-partitions.ts';

const source = {
  name: 'orders',
  kafka: { topic: 'orders-in', brokers: 'localhost:9092', partitionDiscoveryInterval: '1s' },
} as unknown as SourceSpec;
const bounded = {
  name: 'replay',
  kafka: { topic: 'old', brokers: 'localhost:9092', bounded: 'latest' },
} as unknown as SourceSpec;

/** Grace of `source`: two discovery intervals (1 s) and the 5 s margin. */
const GRACE = 7_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Metadata of checkpoint `id` triggered at `at`, each slot having recorded `bySlot[slot]`. */
function meta(id: number, at: number, bySlot: number[][]) {
  const positions = bySlot.map((ps, slot) => ({
    slot,
    position: { kind: 'kafka', topic: 'orders-in', offsets: Object.fromEntries(ps.map((p) => [String(p), '0'])) },
  }));
  return { checkpointId: id, triggeredAt: new Date(at).toISOString(), sources: { orders: positions } };
}

function stage() {
  const logs: { msg: string; partition?: number; topic?: string; level: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const metrics = new JobMetrics();
  const alarm = new UnownedPartitions([source, bounded], metrics.sourceUnownedPartitions, logger);
  const gauge = async (): Promise<number | undefined> =>
    (await metrics.sourceUnownedPartitions.get()).values.find((v) => v.labels['source'] === 'orders')?.value;
  const warned = (): number[] => logs.filter((l) => l.level === 40).map((l) => l.partition as number);
  return { alarm, gauge, warned, logs };
}

describe('partitions no slot reads (unowned-partitions.ts)', () => {
  it('counts a partition nobody recorded once known past the grace, warns once naming it, clears once read', async () => {
    const { alarm, gauge, warned, logs } = stage();
    alarm.checkpointed(
      meta(1, T0, [
        [0, 2],
        [1, 3],
      ]),
      () => 4,
      T0 + 100,
    );
    expect(await gauge()).toBe(0);
    // The topic grew to 8: just found, nobody need read them yet.
    alarm.checkpointed(
      meta(2, T0 + 1_000, [
        [0, 2],
        [1, 3],
      ]),
      () => 8,
      T0 + 1_100,
    );
    expect(await gauge()).toBe(0);
    // Past the grace: 4 and 6 were taken, 5 and 7 not (their owner is a slot that left).
    alarm.checkpointed(
      meta(3, T0 + 1_100 + GRACE, [
        [0, 2, 4, 6],
        [1, 3],
      ]),
      () => 8,
      T0 + 9_000,
    );
    expect(await gauge()).toBe(2);
    expect(warned()).toEqual([5, 7]);
    expect(alarm.list()).toEqual([{ source: 'orders', topic: 'orders-in', partitions: [5, 7] }]);
    expect(logs.find((l) => l.level === 40)?.topic).toBe('orders-in');
    alarm.checkpointed(
      meta(4, T0 + 10_000, [
        [0, 2, 4, 6],
        [1, 3],
      ]),
      () => 8,
      T0 + 10_100,
    );
    expect(warned()).toEqual([5, 7]); // once per partition, not per checkpoint
    alarm.checkpointed(
      meta(5, T0 + 11_000, [
        [0, 2, 4, 6],
        [1, 3, 5, 7],
      ]),
      () => 8,
      T0 + 11_100,
    );
    expect(await gauge()).toBe(0);
    expect(alarm.list()).toEqual([]);
    expect(logs.filter((l) => l.msg.includes('reads the partition now')).map((l) => l.partition)).toEqual([5, 7]);
  });
});
