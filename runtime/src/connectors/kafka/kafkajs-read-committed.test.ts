// The Kafka source refuses to start a consumer when the read_committed correction is not in
// place. The failure is injected by putting kafkajs's original filter back into the module
// cache (what a load-order mistake or a changed kafkajs layout leaves behind); the broker
// address is never contacted, since the refusal comes first.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../telemetry/logger.ts';
import type { SourceReaderContext } from '../api.ts';
import { KafkaSource } from './kafka-source.ts';
import { patched, readCommittedFixInPlace } from './kafkajs-read-committed.ts';

const require = createRequire(import.meta.url);

function ctx(): SourceReaderContext {
  return {
    sourceName: 'orders',
    slot: 0,
    parallelism: 1,
    logger: silentLogger(),
    addPartition: () => 0,
    finishPartition: () => {},
    idlePartition: () => {},
    partitionCaughtUp: () => {},
    wake: () => {},
    wakeAt: () => {},
    recordFailed: () => {},
  };
}

describe('kafkajs read_committed correction', () => {
  it('is in place when Kafka modules load', () => {
    expect(patched).toBe(true);
    expect(readCommittedFixInPlace()).toBe(true);
  });

  it('a Kafka source refuses to open (TRIB_CONNECTOR_FAILED, naming the source) once the correction is gone', async () => {
    const file = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
    const mod = require.cache[file] as NodeJS.Module;
    const corrected = mod.exports as unknown;
    mod.exports = (x: { messages: unknown[] }) => x.messages; // the unpatched behaviour: nothing filtered
    try {
      const source = new KafkaSource({ brokers: '127.0.0.1:1', topic: 't' } as never);
      await expect(source.open(ctx())).rejects.toMatchObject({
        code: 'TRIB_CONNECTOR_FAILED',
        message: expect.stringMatching(
          /^kafka source orders: the kafkajs read_committed correction .* is not in place/,
        ),
      });
    } finally {
      mod.exports = corrected;
    }
    expect(readCommittedFixInPlace()).toBe(true);
  });
});
