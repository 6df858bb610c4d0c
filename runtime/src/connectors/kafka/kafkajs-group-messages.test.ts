// kafkajs's producers group a send's messages with the linear replacement once any Kafka
// module is loaded, and it groups exactly as kafkajs did: per partition, in send order,
// one partitioner call per message.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import './client.ts';
import { groupMessagesPerPartition, groupPatched } from './kafkajs-group-messages.ts';

const require = createRequire(import.meta.url);

describe('kafkajs groupMessagesPerPartition replacement', () => {
  it('is what kafkajs producer modules load', () => {
    expect(groupPatched).toBe(true);
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
  });

  it('groups per partition in send order, calling the partitioner once per message in order', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, p: (i * 7) % 3 }));
    const calls: string[] = [];
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => {
        calls.push(message.value);
        return message.p;
      },
    });
    expect(calls).toEqual(messages.map((m) => m.value));
    expect(Object.keys(grouped)).toEqual(['0', '1', '2']);
    for (const p of [0, 1, 2]) expect(grouped[p]).toEqual(messages.filter((m) => m.p === p));
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual(
      {},
    );
  });
});
