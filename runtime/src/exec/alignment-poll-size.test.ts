// How many records an aligned source asks its reader for: enough that one poll moves the
// watermark by about a quarter of maxDrift. Disorder within maxOutOfOrderness does not move the
// watermark, so it must not shrink polls: the source here reads a collection 10 ms of event time
// apart with up to 1.5 s of disorder (bound 2 s) and maxDrift 4 s, so a poll may hold about
// 1 s / 10 ms = 100 records. Measuring a poll's timestamp span instead counts the disorder as
// progress and shrinks polls toward one record. The slot and output are stand-ins that record
// what the task does; the reader is the real collection reader.
import { describe, expect, it } from 'vitest';
import { createSourceReader } from '../connectors/registry.ts';
import type { SourceSpec } from '../graph/spec.ts';
import type { Output } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { seededRandom } from '../testing/event-time-reference.ts';
import { WatermarkAlignment } from '../time/watermark-alignment.ts';
import type { Slot } from './slot.ts';
import { SourceTask } from './source-task.ts';

describe('aligned source poll size', () => {
  it('follows how far the watermark moves per record, not the disorder of the records', async () => {
    const rnd = seededRandom(5);
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      ts: 1_700_000_000_000 + i * 10 + Math.floor(rnd() * 1500),
    }));
    const spec: SourceSpec = {
      name: 'events',
      collection: { records },
      timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '2s', alignment: { maxDrift: '4s' } },
    };
    const reader = createSourceReader(spec, { jobStartTime: 0 });
    const asked: number[] = [];
    const poll = reader.poll.bind(reader);
    reader.poll = (out, max) => {
      asked.push(max);
      return poll(out, max);
    };
    const slot = { index: 0, wake: () => {}, schedule: () => {}, post: () => {} } as unknown as Slot;
    let pushed = 0;
    const out: Output = {
      push: (b: Batch) => {
        pushed += b.n;
      },
      watermark: () => {},
      idle: () => {},
      end: () => {},
    };
    const hub = new WatermarkAlignment();
    hub.declare('events', 'events#0', true);
    const task = new SourceTask({
      spec,
      reader,
      slot,
      parallelism: 1,
      out,
      outputs: [],
      batchSize: 1024,
      logger: silentLogger(),
      onRecords: () => {},
      onFailed: () => {},
      alignment: { hub, group: 'events', member: 'events#0', driftMs: 4000 },
    });
    await task.open();
    while (!task.done) task.step();
    expect(pushed).toBe(records.length);
    const steady = asked.slice(10, -1);
    const mean = steady.reduce((a, b) => a + b, 0) / steady.length;
    expect(mean).toBeGreaterThan(50);
    expect(mean).toBeLessThan(200);
  });
});
