// TransactionalProducers.closeAll against producers still being created (kafkajs stubbed): a
// renewal or acquire in flight when the sink closes must not leave a connected producer behind,
// and nothing is created after it. Either would hold the process's event loop (its sockets).
import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../telemetry/logger.ts';
import type { SinkWriterContext } from '../api.ts';
import { TransactionalProducers } from './transactional-producers.ts';

const connects: PromiseWithResolvers<void>[] = [];
const disconnected: string[] = [];

vi.mock('./transactional-client.ts', () => ({
  transactionalClient: (_b: unknown, id: string, _l: Logger, hooks: { producerId?(p: string, e: number): void }) => ({
    producer: () => ({
      connect: () => {
        const c = Promise.withResolvers<void>();
        connects.push(c);
        return c.promise;
      },
      transaction: () => {
        hooks.producerId?.('1', 0);
        return Promise.resolve({ abort: () => Promise.resolve() });
      },
      disconnect: () => {
        disconnected.push(id);
        return Promise.resolve();
      },
    }),
  }),
}));

function producers(): TransactionalProducers {
  const ctx = { sinkName: 'out', slot: 0, parallelism: 1, logger: silentLogger() } as unknown as SinkWriterContext;
  return new TransactionalProducers({
    brokers: ['b:9092'],
    prefix: 'p',
    intentDir: '/nonexistent',
    timeoutMs: 60_000,
    bounds: { requestTimeoutMs: 1000, retries: 0 } as never,
    ctx,
    isClosed: () => false,
  });
}

describe('TransactionalProducers.closeAll', () => {
  it('a producer still connecting when the pool closes is disconnected, and none is created after', async () => {
    connects.length = 0;
    disconnected.length = 0;
    const p = producers();
    const ready = await (async () => {
      const made = p.create('p-0-0');
      await vi.waitFor(() => expect(connects.length).toBe(1));
      (connects[0] as PromiseWithResolvers<void>).resolve();
      return made;
    })();
    const renewing = p.create('p-0-1'); // a renewal in flight
    await vi.waitFor(() => expect(connects.length).toBe(2));
    const closing = p.closeAll();
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed, 'closeAll waits for a producer still being created').toBe(false);
    (connects[1] as PromiseWithResolvers<void>).resolve(); // it connects after the close began
    renewing.catch(() => undefined);
    await closing; // once closed, the producer that was still connecting is disconnected too
    expect(disconnected.sort()).toEqual([ready.id, 'p-0-1']);
    await expect(renewing).rejects.toMatchObject({ code: 'TRIB_CONNECTOR_FAILED' });
    await expect(p.create('p-0-2')).rejects.toMatchObject({ code: 'TRIB_CONNECTOR_FAILED' });
    expect(connects.length).toBe(2);
  });
});
