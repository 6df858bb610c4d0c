// The kafkajs consumer of a Kafka source slot (consumer-loop.ts, or on a fetch thread of its own:
// fetch-thread.ts), replaced whenever the partitions the slot reads change: partitions discovered,
// or taken over and handed over in a live rescale (partition-handover.ts). Replacements run one
// after the other: two that overlapped would both stop the old consumer and start a new one, and
// one of those would read on unseen. Each new consumer is sought to the next offset not yet taken
// from Kafka, so records already queued stay queued and nothing is read twice or skipped.
// Which partitions alignment pauses is asked when a consumer has started, not when it was built:
// alignment may pause and resume a partition while the consumer connects (a live rescale's
// take-over is such a moment), and a set taken before the start and applied after it would pause
// that partition for good, with nothing left to resume it.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.ts';
import { ConsumerLoop, type ConsumerLoopOptions, type FetchHandler } from './consumer-loop.ts';
import { FetchThread, type Fetcher } from './fetch-thread.ts';

export interface SlotConsumerSetup {
  kafka: KafkaClient;
  clientId: string;
  logger: Logger;
  /** Names the source and slot in errors. */
  name: string;
  fetchThread: boolean;
  keepHeaders: boolean;
  requestTimeoutMs: number;
}

/** What the next consumer reads: undefined when nothing (no consumer then). */
export type ConsumerTarget = (Omit<ConsumerLoopOptions, 'seeks'> & { seeks: [number, bigint][] }) | undefined;

export class SlotConsumer {
  private fetcher: Fetcher | undefined;
  private replacing: Promise<void> = Promise.resolve();
  private closed = false;

  private readonly setup: () => SlotConsumerSetup;
  /** Where a consumer's fetches go; `current`: it is still the slot's consumer. */
  private readonly handler: (current: () => boolean) => FetchHandler;
  /** The partitions alignment pauses now. */
  private readonly paused: () => readonly number[];

  constructor(
    setup: () => SlotConsumerSetup,
    handler: (current: () => boolean) => FetchHandler,
    paused: () => readonly number[],
  ) {
    this.setup = setup;
    this.handler = handler;
    this.paused = paused;
  }

  /**
   * After every replacement asked for before: stops the current consumer (every fetch it handed
   * over has been taken in, so the offsets `target` reads are final) and starts one for `target()`.
   */
  replace(target: () => ConsumerTarget): Promise<void> {
    const next = this.replacing.catch(() => undefined).then(() => this.replaceNow(target));
    this.replacing = next;
    return next;
  }

  private async replaceNow(target: () => ConsumerTarget): Promise<void> {
    const old = this.fetcher;
    this.fetcher = undefined;
    await old?.stop();
    const loop = this.closed ? undefined : target();
    if (loop === undefined || loop.seeks.length === 0) return;
    const s = this.setup();
    const handler = this.handler(() => this.fetcher === fetcher);
    const fetcher: Fetcher = s.fetchThread
      ? new FetchThread(loop, s.clientId, handler, s.logger, s.name, {
          keepHeaders: s.keepHeaders,
          requestTimeoutMs: s.requestTimeoutMs,
        })
      : new ConsumerLoop(s.kafka, loop, handler);
    this.fetcher = fetcher;
    try {
      await fetcher.start();
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `${s.name}: its kafka consumer cannot start: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (this.fetcher === fetcher) fetcher.setPaused(this.paused());
  }

  setPaused(paused: number[]): void {
    this.fetcher?.setPaused(paused);
  }

  /** Stops the consumer; no later replacement starts one. */
  stop(): Promise<void> | undefined {
    this.closed = true;
    const fetcher = this.fetcher;
    this.fetcher = undefined;
    return fetcher?.stop();
  }
}
