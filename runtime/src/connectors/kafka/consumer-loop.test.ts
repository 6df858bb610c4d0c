// ConsumerLoop's stop against a kafkajs consumer that is still starting (a stub of kafkajs's
// Consumer): a stopped loop must leave nothing running. kafkajs restarts a crashed consumer on a
// timer of its own after its disconnect, and its disconnect cancels neither a connect nor a
// group join under way; each would leave a consumer, or its connections, that no one stops
// (rescale-local-resources.int shows it against the real broker).
import type { Consumer, ConsumerConfig, Kafka as KafkaClient } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { ConsumerLoop, type FetchHandler } from './consumer-loop.ts';

function stubConsumer() {
  const connected = Promise.withResolvers<void>();
  const consumer = {
    events: { START_BATCH_PROCESS: 'sbp', GROUP_JOIN: 'gj', FETCH: 'f', CRASH: 'c' },
    connect: vi.fn(() => connected.promise),
    subscribe: vi.fn(() => Promise.resolve()),
    on: vi.fn(),
    run: vi.fn(() => new Promise<void>(() => undefined)),
    seek: vi.fn(),
    disconnect: vi.fn(() => Promise.resolve()),
  };
  let config: ConsumerConfig | undefined;
  const kafka = {
    consumer: (c: ConsumerConfig) => {
      config = c;
      return consumer as unknown as Consumer;
    },
  } as unknown as KafkaClient;
  return { consumer, kafka, connected, config: () => config as ConsumerConfig };
}

const handler: FetchHandler = {
  fetched: () => undefined,
  room: () => undefined,
  failed: () => undefined,
  stopping: () => undefined,
};
const opts = { topic: 't', brokers: ['b:9092'], groupId: 'g', seeks: [[0, 0n]] as [number, bigint][] };

describe('ConsumerLoop: a stopped loop leaves nothing running', () => {
  it('kafkajs may restart a crashed consumer while the loop runs, never once it was stopped', async () => {
    const s = stubConsumer();
    const loop = new ConsumerLoop(s.kafka, opts, handler);
    const retry = s.config().retry;
    expect(retry?.retries).toBe(5); // kafkajs's own default for a consumer, kept
    const restart = retry?.restartOnFailure as (e: Error) => Promise<boolean>;
    expect(await restart(new Error('connection closed'))).toBe(true);
    s.connected.resolve();
    await loop.start();
    await loop.stop();
    expect(await restart(new Error('write after end'))).toBe(false);
  });

  it('stopped while connecting: the consumer never runs, and what its connect opened is closed', async () => {
    const s = stubConsumer();
    const loop = new ConsumerLoop(s.kafka, opts, handler);
    const starting = loop.start();
    await loop.stop();
    expect(s.consumer.disconnect).toHaveBeenCalledTimes(1);
    s.connected.resolve(); // the connect finishes after stop()'s disconnect
    await starting;
    expect(s.consumer.run).not.toHaveBeenCalled();
    expect(s.consumer.disconnect).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['joins', (r: PromiseWithResolvers<void>) => r.resolve()],
    ['fails to join', (r: PromiseWithResolvers<void>) => r.reject(new Error('connection closed'))],
  ])('stopped while its run %s the group: what the join opened after the disconnect is closed too', async (_, end) => {
    const s = stubConsumer();
    const running = Promise.withResolvers<void>();
    s.consumer.run.mockImplementation(() => running.promise);
    const failed = vi.fn();
    const loop = new ConsumerLoop(s.kafka, opts, { ...handler, failed });
    s.connected.resolve();
    await loop.start();
    expect(s.consumer.run).toHaveBeenCalledTimes(1);
    await loop.stop();
    expect(s.consumer.disconnect).toHaveBeenCalledTimes(1);
    end(running); // kafkajs's join settles after stop()'s disconnect
    await vi.waitFor(() => expect(s.consumer.disconnect).toHaveBeenCalledTimes(2));
    expect(failed).not.toHaveBeenCalled();
  });

  it('a run that fails while the loop runs fails the source, and is not left again', async () => {
    const s = stubConsumer();
    const running = Promise.withResolvers<void>();
    s.consumer.run.mockImplementation(() => running.promise);
    const failed = vi.fn();
    const loop = new ConsumerLoop(s.kafka, opts, { ...handler, failed });
    s.connected.resolve();
    await loop.start();
    const err = new Error('group authorization failed');
    running.reject(err);
    await vi.waitFor(() => expect(failed).toHaveBeenCalledWith(err));
    expect(s.consumer.disconnect).not.toHaveBeenCalled();
  });
});
