// Messages between a Kafka source slot and its fetch thread (fetch-thread.ts, fetch-worker.ts).
// Order is the MessagePort's: every fetch posted before `stopped` arrives before it, so once
// the slot has seen `stopped` it knows every record the consumer handed over.
import type { LogEntry } from 'kafkajs';
import type { ConsumerLoopOptions } from './consumer-loop.ts';
import type { PackedRecords } from './fetched-records.ts';

export interface FetchWorkerData {
  loop: ConsumerLoopOptions;
  clientId: string;
  /** Fetches handed over and not acknowledged, at most: the next fetch overlaps the slot's work on these. */
  inFlight: number;
  /** Pack each record's headers too (a source with a dead-letter topic: original-headers.ts). */
  keepHeaders: boolean;
  /** kafkajs's request timeout of the thread's client (the source's `requestTimeout`); default kafkajs's. */
  requestTimeoutMs?: number;
}

/** A failure as it crosses the thread boundary (an Error's class does not). */
export interface CrossedError {
  name: string;
  message: string;
  code?: string;
}

export type ToFetchThread = { kind: 'ack' } | { kind: 'pause'; partitions: number[] } | { kind: 'stop' };

export type FromFetchThread =
  | { kind: 'started' }
  | { kind: 'start-failed'; error: CrossedError }
  | {
      kind: 'fetched';
      partition: number;
      highWatermark: bigint;
      lastOffset: bigint | null;
      records: PackedRecords | null;
    }
  | { kind: 'failed'; error: CrossedError }
  | { kind: 'unreachable'; sinceMs: number; error: CrossedError }
  | { kind: 'reachable' }
  | { kind: 'log'; entry: LogEntry }
  | { kind: 'stopped' };

export function crossedError(e: unknown): CrossedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The error on this side: its message and name, as the fetch thread saw them. */
export function uncrossedError(c: CrossedError): Error {
  const e = new Error(c.message);
  e.name = c.name;
  if (c.code !== undefined) Object.assign(e, { code: c.code });
  return e;
}
