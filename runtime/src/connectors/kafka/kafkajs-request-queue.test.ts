// kafkajs's own RequestQueue with the schedule replaced (no broker: the queue is driven as a
// connection drives it, push → send, fulfillRequest on a response): no check is left scheduled
// once nothing is pending and no throttle is in force (kafkajs's original left a 1 ms one, for
// ever), and every request still goes out — after an in-flight slot frees, and after a throttle
// ends with no other event to wake the queue.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nextCheckDelay, requestQueuePatched, type QueueState } from './kafkajs-request-queue.ts';

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: object) => QueueState & {
  push(r: object): void;
  fulfillRequest(r: { correlationId: number; payload: unknown; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
};

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function queue(maxInFlightRequests: number | null) {
  const q = new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9',
    logger: quiet,
  });
  const sent: number[] = [];
  const push = (correlationId: number): void =>
    q.push({
      entry: {
        correlationId,
        apiKey: 0,
        apiName: 'Produce',
        apiVersion: 3,
        resolve: () => undefined,
        reject: () => undefined,
      },
      expectResponse: true,
      sendRequest: () => sent.push(correlationId),
    });
  const respond = (correlationId: number): void => q.fulfillRequest({ correlationId, payload: null, size: 0 });
  return { q, sent, push, respond };
}

describe('kafkajs request queue schedule', () => {
  it('is installed', () => {
    expect(requestQueuePatched).toBe(true);
  });

  it('leaves no check scheduled after a response when nothing is pending and nothing throttles', () => {
    const { q, sent, push, respond } = queue(null);
    push(1);
    respond(1);
    expect(sent).toEqual([1]);
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('a request waiting for an in-flight slot goes out when the slot frees; then the checks stop', async () => {
    const { q, sent, push, respond } = queue(1);
    push(1);
    push(2);
    expect(sent).toEqual([1]);
    respond(1);
    expect(sent).toEqual([1, 2]);
    respond(2);
    // The check scheduled while 2 was pending (10 ms) runs once and schedules no other.
    await new Promise((r) => setTimeout(r, 40));
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('a request queued behind a throttle goes out when it ends, with no other event', async () => {
    const { q, sent, push } = queue(null);
    q.maybeThrottle(40);
    push(1);
    expect(sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 150));
    expect(sent).toEqual([1]);
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('the delay: pending requests at the throttle end or in 10 ms, else only a throttle end', () => {
    const now = 1_000_000;
    expect(nextCheckDelay(0, -1, now)).toBeUndefined();
    expect(nextCheckDelay(0, now - 5, now)).toBeUndefined();
    expect(nextCheckDelay(0, now + 30, now)).toBe(30);
    expect(nextCheckDelay(2, -1, now)).toBe(10);
    // A throttle ending this very millisecond with requests pending still gets a check.
    expect(nextCheckDelay(1, now, now)).toBe(10);
    expect(nextCheckDelay(2, now + 30, now)).toBe(30);
  });
});
