// Watches the partitions of a Kafka source's topic: while the topic does not exist it looks
// again with backoff (initial, doubling, capped); once it exists, every `discoveryMs` (0 =
// never again) for partitions added since. Checks never overlap (the next is scheduled when
// one ended) and no callback runs after close() resolved.

export interface TopicWatchOptions {
  /** The topic's partition ids; undefined when the topic does not exist. */
  fetch(): Promise<number[] | undefined>;
  /** Period of the partition discovery once the topic exists; 0 disables it. */
  discoveryMs: number;
  backoff?: { initialMs: number; maxMs: number };
  /** The topic is missing; `attempt` counts consecutive missing checks from 1. */
  onMissing(attempt: number): void;
  /** The topic's partitions, on every check that found it. A rejection stops the watch (the reader fails). */
  onPartitions(partitions: number[]): Promise<void>;
  /** A later check failed (brokers unreachable…); it is retried. */
  onError(e: unknown): void;
}

export const DEFAULT_TOPIC_BACKOFF = { initialMs: 500, maxMs: 5_000 };

/** Delay before the check following `attempt` consecutive missing checks (attempt ≥ 1). */
export function missingTopicBackoffMs(attempt: number, b = DEFAULT_TOPIC_BACKOFF): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
}

export class TopicWatch {
  private readonly o: TopicWatchOptions;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private missing = 0;
  private found = false;

  constructor(o: TopicWatchOptions) {
    this.o = o;
  }

  /** Handles the first check's result (fetched by the caller, which reports its errors) and schedules the next. */
  async begin(first: number[] | undefined): Promise<void> {
    await this.handle(first);
  }

  private async handle(partitions: number[] | undefined): Promise<void> {
    if (this.closed) return;
    if (partitions === undefined) {
      this.missing++;
      this.o.onMissing(this.missing);
      this.schedule(missingTopicBackoffMs(this.missing, this.o.backoff));
      return;
    }
    this.missing = 0;
    this.found = true;
    await this.o.onPartitions(partitions);
    if (this.o.discoveryMs > 0) this.schedule(this.o.discoveryMs);
  }

  private async check(): Promise<void> {
    let partitions: number[] | undefined;
    try {
      partitions = await this.o.fetch();
    } catch (e) {
      if (this.closed) return;
      this.o.onError(e);
      this.schedule(this.found ? this.o.discoveryMs : missingTopicBackoffMs(Math.max(1, this.missing), this.o.backoff));
      return;
    }
    await this.handle(partitions);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // onPartitions failing here is the reader's to report (it fails the source); never unhandled.
      this.inFlight = this.check()
        .catch((e: unknown) => this.o.onError(e))
        .finally(() => {
          this.inFlight = undefined;
        });
    }, ms);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
