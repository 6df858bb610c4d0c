// The slot's side of a Kafka source's fetch thread (fetch-worker.ts runs the consumer). To
// the source it is the same as a consumer on its own thread: start, pause partitions, stop;
// fetches reach the source's FetchHandler here, in the slot's thread and in order, and a fetch
// is acknowledged (so the thread may fetch on) once the handler has room for its partition.
//
// Off by default; TRIBUTARY_KAFKA_FETCH_THREAD=on turns it on, for slots with a CPU to spare.
// Measured (docs/runtime/performance.md): the slot's thread then spends 0.73–0.78× the CPU per
// record, but the process spends more in all, and on a machine whose cores are already busy
// (the broker beside the job, or `--threads` slots) it was no faster and held more memory. A
// fetch thread that dies, or a consumer that fails in it, fails the source as the same failure
// on one thread would: the attempt restarts from the latest checkpoint.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.ts';
import type { ConsumerLoopOptions, FetchHandler } from './consumer-loop.ts';
import { NO_RECORDS, packedRecords } from './fetched-records.ts';
import { uncrossedError, type FetchWorkerData, type FromFetchThread, type ToFetchThread } from './fetch-protocol.ts';
import { logKafkajsEntry } from './kafkajs-log.ts';

const ENTRY = new URL(`./fetch-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** Fetches handed over and not acknowledged: two, so the next fetch overlaps the slot's work on one. */
const IN_FLIGHT = 2;

/**
 * The thread's young generation (MiB): its garbage is decoding's, short-lived; V8 sizes it from
 * the machine's memory and the thread's heap then grew to ~150 MiB on a pass-through job. The
 * same cap as a slot process's (three semi-spaces of 8 MiB: slot-node-flags.ts).
 */
const YOUNG_GENERATION_MB = 24;

/** How long a stopping fetch thread may take to leave its consumer group before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;

export const FETCH_THREAD_ENV = 'TRIBUTARY_KAFKA_FETCH_THREAD';

/** Whether Kafka sources fetch on a thread of their own (default off); anything but on/off is refused. */
export function fetchThreadEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[FETCH_THREAD_ENV];
  if (v === 'on') return true;
  if (v === undefined || v === '' || v === 'off') return false;
  throw new TributaryError('TRIB_JOB_CONFIG', `${FETCH_THREAD_ENV} must be "on" or "off", got "${v}"`);
}

/** What a Kafka source drives: a consumer on its own thread (ConsumerLoop) or on a fetch thread. */
export interface Fetcher {
  start(): Promise<void>;
  setPaused(partitions: readonly number[]): void;
  stop(): Promise<void>;
}

export class FetchThread implements Fetcher {
  private readonly worker: Worker;
  private readonly handler: FetchHandler;
  private readonly name: string;
  private stopping = false;
  private readonly started: Promise<void>;
  private readonly stopped: Promise<void>;

  /**
   * `name` names the source and slot in errors; `keepHeaders`: records cross with their headers
   * (a source with a dead-letter topic); `entry`: the worker's script (tests inject a failing one).
   */
  constructor(
    loop: ConsumerLoopOptions,
    clientId: string,
    handler: FetchHandler,
    logger: Logger,
    name: string,
    opts: { keepHeaders?: boolean; entry?: URL; requestTimeoutMs?: number } = {},
  ) {
    this.handler = handler;
    this.name = name;
    this.worker = new Worker(opts.entry ?? ENTRY, {
      workerData: {
        loop,
        clientId,
        inFlight: IN_FLIGHT,
        keepHeaders: opts.keepHeaders === true,
        ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
      } satisfies FetchWorkerData,
      stdout: false,
      stderr: false,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const started = Promise.withResolvers<void>();
    const stopped = Promise.withResolvers<void>();
    this.started = started.promise;
    this.stopped = stopped.promise;
    // A start that fails is the caller's to report; a rejection nobody awaits is not a crash.
    this.started.catch(() => undefined);
    this.worker.on('message', (m: FromFetchThread) => {
      switch (m.kind) {
        case 'fetched':
          handler.fetched(
            m.partition,
            m.highWatermark,
            m.lastOffset,
            m.records ? packedRecords(m.records) : NO_RECORDS,
          );
          void this.acknowledge(m.partition);
          break;
        case 'log':
          logKafkajsEntry(logger, m.entry);
          break;
        case 'started':
          started.resolve();
          break;
        case 'start-failed':
          started.reject(uncrossedError(m.error));
          break;
        case 'failed':
          if (!this.stopping) handler.failed(uncrossedError(m.error));
          break;
        case 'unreachable':
          handler.unreachable?.(m.sinceMs, uncrossedError(m.error));
          break;
        case 'reachable':
          handler.reachable?.();
          break;
        case 'stopped':
          stopped.resolve();
          void this.worker.terminate();
          break;
      }
    });
    // A thread that throws emits 'error', then 'exit': the first names the cause, and is the one reported.
    let died = false;
    const threadDied = (e: TributaryError): void => {
      started.reject(e);
      if (died || this.stopping) return;
      died = true;
      handler.failed(e);
    };
    this.worker.on('error', (err) => threadDied(this.threadFailed(`failed: ${err.message}`, err)));
    this.worker.on('exit', (code) => {
      stopped.resolve();
      threadDied(this.threadFailed(`exited with code ${code}`));
    });
  }

  private threadFailed(what: string, cause?: unknown): TributaryError {
    return new TributaryError('TRIB_CONNECTOR_FAILED', `${this.name}: the kafka fetch thread ${what}`, { cause });
  }

  start(): Promise<void> {
    return this.started;
  }

  setPaused(partitions: readonly number[]): void {
    this.send({ kind: 'pause', partitions: [...partitions] });
  }

  /** Once the handler has room for `partition`, lets the thread fetch on. */
  private async acknowledge(partition: number): Promise<void> {
    for (let w = this.handler.room(partition); w && !this.stopping; w = this.handler.room(partition)) await w;
    if (!this.stopping) this.send({ kind: 'ack' });
  }

  private send(m: ToFetchThread): void {
    try {
      this.worker.postMessage(m);
    } catch {
      // The thread is gone: its exit has failed the source (or it was stopped).
    }
  }

  /** Leaves the consumer group and ends the thread; every fetch it handed over has been delivered. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.handler.stopping();
      this.send({ kind: 'stop' });
    }
    const timer = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
    await this.stopped;
    clearTimeout(timer);
  }
}
