import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import type { SinkSpec } from '../graph/spec.ts';
import { createSinkWriter } from './registry.ts';
import { checkSinkDeliveries, deliveryOf, sinkDeliveries } from './sink-delivery.ts';
import { KafkaSink } from './kafka/kafka-sink.ts';
import { TransactionalKafkaSink } from './kafka/transactional-sink.ts';

const kafka = (delivery?: 'exactly-once' | 'at-least-once'): SinkSpec => ({
  name: 'k',
  from: 's',
  kafka: { brokers: 'b:9092', topic: 't', ...(delivery ? { delivery } : {}) },
});
const druid = (delivery?: 'exactly-once' | 'at-least-once'): SinkSpec => ({
  name: 'd',
  from: 's',
  druid: { datasourceRef: 'ds', kafka: { brokers: 'b:9092', topic: 't' }, ...(delivery ? { delivery } : {}) },
});

describe('sink delivery', () => {
  it('defaults to exactly-once with checkpoints and at-least-once without; at-least-once opts out', () => {
    expect(deliveryOf(kafka(), true)).toBe('exactly-once');
    expect(deliveryOf(kafka(), false)).toBe('at-least-once');
    expect(deliveryOf(kafka('at-least-once'), true)).toBe('at-least-once');
    expect(deliveryOf(druid(), true)).toBe('exactly-once');
    expect(deliveryOf(druid('at-least-once'), true)).toBe('at-least-once');
    expect(deliveryOf({ name: 'c', from: 's', console: {} }, true)).toBe('at-least-once');
  });

  it('says why for every kafka and druid sink, and whether the graph chose it', () => {
    const d = sinkDeliveries(
      [kafka(), { name: 'c', from: 's', console: {} }, druid('exactly-once')],
      { checkpointing: true, intervalMs: 1000 },
      'spec.graph',
    );
    expect(d.map((x) => [x.name, x.path, x.delivery, x.explicit])).toEqual([
      ['k', 'spec.graph.sinks[0].kafka.delivery', 'exactly-once', false],
      ['d', 'spec.graph.sinks[2].druid.delivery', 'exactly-once', true],
    ]);
    expect(d[0]?.reason).toContain('every 1000 ms');
    expect(sinkDeliveries([kafka()], { checkpointing: false })[0]?.reason).toContain('no checkpoints');
  });

  it('refuses delivery: exactly-once without checkpoints, naming every field and what to add', () => {
    let err: unknown;
    try {
      checkSinkDeliveries(
        [kafka('exactly-once'), kafka(), druid('exactly-once')],
        { checkpointing: false },
        'graph',
        'add --checkpoint-interval 10s',
      );
    } catch (e) {
      err = e;
    }
    expect(isTributaryError(err) && err.code).toBe('TRIB_JOB_CONFIG');
    const e = err as Error & { path: string };
    expect(e.path).toBe('graph.sinks[0].kafka.delivery');
    expect(e.message).toContain(
      'graph.sinks[0].kafka.delivery, graph.sinks[2].druid.delivery: exactly-once needs checkpoints',
    );
    expect(e.message).toContain('add --checkpoint-interval 10s, or set delivery: at-least-once');
    expect(() =>
      checkSinkDeliveries([kafka('exactly-once'), druid('exactly-once')], { checkpointing: true }),
    ).not.toThrow();
    expect(() =>
      checkSinkDeliveries([kafka(), druid(), kafka('at-least-once')], { checkpointing: false }),
    ).not.toThrow();
  });

  it('the registry builds the writer the decision names', () => {
    expect(createSinkWriter(kafka(), { checkpointing: true })).toBeInstanceOf(TransactionalKafkaSink);
    expect(createSinkWriter(kafka(), { checkpointing: false })).toBeInstanceOf(KafkaSink);
    expect(createSinkWriter(kafka('at-least-once'), { checkpointing: true })).toBeInstanceOf(KafkaSink);
    // Both flush at the barrier (preCommit); only exactly-once commits on completion.
    expect(createSinkWriter(druid(), { checkpointing: true }).notifyCheckpointComplete).toBeDefined();
    expect(createSinkWriter(druid('at-least-once'), { checkpointing: true }).notifyCheckpointComplete).toBeUndefined();
    expect(createSinkWriter(druid('at-least-once'), { checkpointing: true }).preCommit).toBeDefined();
  });
});
