import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BrokerReachability, isConnectionError } from './broker-reachability.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

/** What kafkajs hands the CRASH event when a fetch could not connect through its retries. */
const refused = () =>
  new KafkaJSNumberOfRetriesExceeded(
    new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092', {
      broker: '127.0.0.1:19092',
      code: 'ECONNREFUSED',
    }),
    { retryCount: 5, retryTime: 300 },
  );

describe('broker reachability of a Kafka source', () => {
  it('recognises a connection failure anywhere in the cause chain, and only that', () => {
    expect(isConnectionError(refused())).toBe(true);
    expect(isConnectionError(new KafkaJSProtocolError('The coordinator is loading'))).toBe(false);
    expect(isConnectionError(new Error('boom'))).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });

  it('fails once the brokers were unreachable for the limit, naming them and the cause; a fetch answered starts over', () => {
    let now = 1_000;
    const r = new BrokerReachability(30_000, () => now);
    const brokers = ['127.0.0.1:19092', '127.0.0.1:19093'];
    expect(r.reached(), 'nothing to recover from yet').toBe(false);
    expect(r.crashed(refused(), brokers)).toBeUndefined();
    now += 29_999;
    expect(r.crashed(refused(), brokers)).toBeUndefined();
    expect(r.since, 'the outage (reported as such) starts at the first crash').toBe(1_000);
    expect(r.reached(), 'a fetch after crashes: the outage is over').toBe(true);
    expect(r.since).toBeUndefined();
    now += 10_000;
    expect(r.crashed(refused(), brokers), 'the count starts at the first crash after a fetch').toBeUndefined();
    now += 29_999;
    expect(r.crashed(refused(), brokers)).toBeUndefined();
    now += 1;
    const err = r.crashed(refused(), brokers);
    expect(err).toMatchObject({
      code: 'TRIB_CONNECTOR_FAILED',
      message:
        'brokers 127.0.0.1:19092,127.0.0.1:19093 unreachable for 30 s: Connection error: connect ECONNREFUSED 127.0.0.1:19092',
    });
    expect(err?.cause).toBeInstanceOf(KafkaJSNumberOfRetriesExceeded);
  });

  it('other errors neither fail the source nor start the count', () => {
    let now = 0;
    const r = new BrokerReachability(30_000, () => now);
    expect(r.crashed(new KafkaJSProtocolError('Not coordinator'), ['b:1'])).toBeUndefined();
    now += 60_000;
    expect(r.crashed(refused(), ['b:1']), 'the first connection failure starts the count').toBeUndefined();
  });
});
