// kafkajs log lines into pino: a broker's retriable error answer, logged by kafkajs's
// connection layer at error level before its caller retries, goes to debug; a non-retriable
// one, and kafkajs's other errors and warnings, keep their level.
import kafkajs from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { logKafkajsEntry } from './kafkajs-log.ts';

const { logLevel } = kafkajs;

/** Logs `entry` through a debug-level pino logger; the level pino wrote it at. */
function levelOf(entry: LogEntry): number {
  const lines: { level: number }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as { level: number }) });
  logKafkajsEntry(logger, entry);
  expect(lines).toHaveLength(1);
  return lines[0]!.level;
}

/** The shape kafkajs's Connection logs an error response in (src/network/connection.js). */
const response = (error: string, level = logLevel.ERROR): LogEntry => ({
  namespace: 'Connection',
  level,
  label: 'ERROR',
  log: {
    timestamp: '2026-11-25T00:18:12.404Z',
    logger: 'kafkajs',
    message: 'Response Metadata(key: 3, version: 6)',
    broker: '127.0.0.1:19092',
    clientId: 'tributary-out-0',
    error,
    correlationId: 3,
    size: 90,
  },
});

describe('kafkajs log levels', () => {
  it('a retriable error answer (the topic being created, a leader not in place) is debug', () => {
    expect(levelOf(response('This server does not host this topic-partition'))).toBe(20);
    expect(levelOf(response('This server is not the leader for that topic-partition'))).toBe(20);
    expect(
      levelOf(response('There is no leader for this topic-partition as we are in the middle of a leadership election')),
    ).toBe(20);
  });

  it('a Fetch answer keeps its level: the consumer recovers from it without throwing, so it is the only sign', () => {
    const fetch = response('This server is not the leader for that topic-partition');
    expect(levelOf({ ...fetch, log: { ...fetch.log, message: 'Response Fetch(key: 1, version: 11)' } })).toBe(50);
  });

  it('a non-retriable error answer stays an error', () => {
    expect(levelOf(response('Not authorized to access topics: [Topic authorization failed]'))).toBe(50);
    expect(
      levelOf(response('The request included a message larger than the max message size the server will accept')),
    ).toBe(50);
  });

  it("kafkajs's other errors and warnings keep their level", () => {
    const crash: LogEntry = {
      namespace: 'Consumer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: '',
        logger: 'kafkajs',
        message: 'Crash: KafkaJSNumberOfRetriesExceeded',
        error: 'This server does not host this topic-partition',
      },
    };
    expect(levelOf(crash)).toBe(50);
    expect(levelOf(response('This server does not host this topic-partition', logLevel.WARN))).toBe(40);
    expect(
      levelOf({ ...response('x', logLevel.INFO), log: { timestamp: '', logger: 'kafkajs', message: 'Starting' } }),
    ).toBe(20);
  });

  it("a connection failure repeated within 30 s is debug: one line per retry would bury the connector's own warning", () => {
    const lines: { level: number; repeatedSinceLastLogged?: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as { level: number }) });
    const refused = (namespace: string, message: string): LogEntry => ({
      namespace,
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: '', logger: 'kafkajs', message, broker: '127.0.0.1:19092' },
    });
    for (let i = 0; i < 5; i++) {
      logKafkajsEntry(logger, refused('Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:19092'));
      logKafkajsEntry(logger, refused('BrokerPool', 'Failed to connect to seed broker, trying another broker'));
      logKafkajsEntry(logger, refused('Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error'));
      logKafkajsEntry(logger, refused('Consumer', `Restarting the consumer in ${900 + i * 37}ms`));
    }
    expect(lines.map((l) => l.level)).toEqual([50, 50, 50, 50, ...Array<number>(16).fill(20)]);
    // Another logger (another source or sink) logs its own first failure.
    expect(levelOf(refused('Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:19092'))).toBe(50);
  });
});
