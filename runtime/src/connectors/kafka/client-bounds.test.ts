// The Kafka connectors' kafkajs bounds (`requestTimeout`, the sink's `retries`): unset, they are
// kafkajs's own defaults (jobs behave as before); set, they reach the kafkajs clients the sink
// and the source build. A request's timeout is shown against a listener that accepts the
// connection and never answers — what a hung (SIGSTOPped) broker does; the real broker frozen
// under a running job is broker-faults.chaos.int.test.ts ("hung while the sink sends").
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import type { SourceReaderContext } from '../api.ts';
import {
  clientBounds,
  createKafka,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRIES,
  isRequestTimeout,
  namingBounds,
} from './client.ts';
import { KafkaSource } from './kafka-source.ts';
import { transactionalClient } from './transactional-client.ts';

/** kafkajs's client-wide retry options as the client keeps them (kafkajs 2.2.4, src/index.js). */
function clusterRetry(kafka: KafkaClient): { retries?: number } | undefined {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:clusterRetry');
  expect(sym, 'kafkajs keeps its retry options under private:Kafka:clusterRetry').toBeDefined();
  return (kafka as unknown as Record<symbol, { retries?: number }>)[sym as symbol];
}

/** Settles `p`, or fails after `ms` (kafkajs's default request timeout is 30 s: far past it). */
async function within<T>(p: Promise<T>, ms: number): Promise<PromiseSettledResult<T> | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  const settled = p.then(
    (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

const sourceCtx = (): SourceReaderContext => ({
  sourceName: 'in',
  slot: 0,
  parallelism: 1,
  logger: silentLogger(),
  addPartition: () => 0,
  finishPartition: () => undefined,
  idlePartition: () => undefined,
  partitionCaughtUp: () => undefined,
  wake: () => undefined,
  wakeAt: () => undefined,
  recordFailed: () => undefined,
});

describe('kafkajs bounds of the Kafka connectors', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let broker = '';

  beforeAll(async () => {
    // Accepts and reads every request, answers none.
    silent = createServer((s) => {
      sockets.add(s);
      s.on('data', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    broker = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it("unset: kafkajs's own defaults, so existing jobs behave as before", () => {
    const kafkajsRetry = createRequire(import.meta.url)('kafkajs/src/retry/defaults.js') as { retries: number };
    expect(DEFAULT_RETRIES).toBe(kafkajsRetry.retries);
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000); // kafkajs's Cluster default (src/cluster/index.js)
    expect(clientBounds({})).toEqual({ requestTimeoutMs: 30_000, retries: 5 });
    expect(clusterRetry(createKafka(broker, 'c', silentLogger()))).toEqual({ retries: 5 });
    expect(clusterRetry(transactionalClient(broker, 'c', silentLogger()))).toEqual({ retries: 5 });
  });

  it('set: parsed from the spec and handed to the kafkajs clients', () => {
    const b = clientBounds({ requestTimeout: '1500ms', retries: 2 });
    expect(b).toEqual({ requestTimeoutMs: 1500, retries: 2 });
    expect(clusterRetry(createKafka(broker, 'c', silentLogger(), b))).toEqual({ retries: 2 });
    expect(clusterRetry(transactionalClient(broker, 'c', silentLogger(), {}, b))).toEqual({ retries: 2 });
  });

  it("the source's requestTimeout bounds each lookup of a broker that does not answer", async () => {
    // Its first lookup retries timed-out requests until brokerUnreachableTimeout; with kafkajs's
    // default 30 s request timeout the bound would pass with the first request unanswered.
    const source = new KafkaSource({
      brokers: broker,
      topic: 't',
      requestTimeout: '1500ms',
      brokerUnreachableTimeout: '5s',
    });
    const out = await within(source.open(sourceCtx()), 15_000);
    expect(out, 'failed at its bound').not.toBe('pending');
    const err = (out as PromiseRejectedResult).reason as Error;
    expect(isTributaryError(err) && err.code).toBe('TRIB_CONNECTOR_FAILED');
    expect(err.message).toMatch(
      /^source "in" \(slot 0\): brokers .* unreachable for \d+ s looking up topic t \(brokerUnreachableTimeout 5s\): Request ApiVersions\(.*\) timed out$/,
    );
  }, 20_000);

  it("the sink's clients take the requestTimeout", async () => {
    const admin = transactionalClient(broker, 'c', silentLogger(), {}, { requestTimeoutMs: 1500, retries: 0 }).admin();
    const out = await within(admin.connect(), 15_000);
    expect(out, 'failed before kafkajs’s default 30 s request timeout').not.toBe('pending');
    expect(isRequestTimeout((out as PromiseRejectedResult).reason)).toBe(true);
    await admin.disconnect();
  }, 20_000);

  it('only a request timeout is annotated: other errors pass as they are', () => {
    const b = { requestTimeoutMs: 2000, retries: 1 };
    const refused = new Error('Connection error: connect ECONNREFUSED');
    expect(namingBounds(refused, b)).toBe(refused);
    const timeout = Object.assign(new Error('Request Produce(key: 0, version: 7) timed out'), {
      name: 'KafkaJSRequestTimeoutError',
    });
    const retried = Object.assign(new Error(timeout.message, { cause: timeout }), {
      name: 'KafkaJSNumberOfRetriesExceeded',
    });
    expect((namingBounds(retried, b) as Error).message).toBe(
      'Request Produce(key: 0, version: 7) timed out (requestTimeout 2s, retries 1)',
    );
  });
});
