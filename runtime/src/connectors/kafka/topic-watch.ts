// Watches the partitions of a Kafka source's topic: while the topic does not exist it looks
// again with backoff (initial, doubling, capped); once it exists, every `discoveryMs` (0 =
// never again) for partitions added since. Checks never overlap (the next is scheduled when
// one ended) and no callback runs after close() resolved. close() waits for partitions being
// taken (onPartitions), never for a lookup in flight: a hung broker would hold it up.
//
// Every wait is bounded (docs/fault-matrix.md): checks that fail or go unanswered (brokers
// refused, or a broker that accepts connections but never answers) for `unreachableMs`, or a
// topic missing for `missingMs`, end the watch with onGiveUp — the reader fails, and its
// restart policy takes over. A failed check is retried with the missing-topic backoff, not the
// discovery period, so the bound is reached by retrying, not by one unlucky check. While a
// trouble lasts, onWarn reports it when it starts and then at most every `warnEveryMs`:
// never one line per retry, never silent past its first warning period.

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
  /** A later check failed (brokers unreachable…); it is retried. Called per failed check. */
  onError(e: unknown): void;
  /** The bounds; without them the watch waits for ever (unit tests of the schedule only). */
  bounds?: WatchBounds;
  /** A trouble started or still lasts (rate-limited by `bounds.warnEveryMs`). */
  onWarn?(t: WatchTrouble): void;
  /** A trouble onWarn reported is over (a check answered, or found the topic). */
  onRecovered?(kind: WatchTrouble['kind']): void;
  /** A bound passed: the watch stopped for good. */
  onGiveUp?(t: WatchTrouble): void;
}

export interface WatchBounds {
  /** Checks failing or unanswered for this long (ms) give up. */
  unreachableMs: number;
  /** The topic missing for this long (ms) gives up. */
  missingMs: number;
  /** At most one onWarn per trouble per this many ms (a third of its bound if shorter, ≥ 1 s). */
  warnEveryMs: number;
}

/** What the watch waits out: brokers that do not answer (`error`: the last failure), or a missing topic. */
export type WatchTrouble =
  // `unanswered`: no check failed, one hangs (`error` then says for how long).
  { kind: 'unreachable'; forMs: number; error: unknown; unanswered?: boolean } | { kind: 'missing'; forMs: number };

export const DEFAULT_TOPIC_BACKOFF = { initialMs: 500, maxMs: 5_000 };

/** Delay before the check following `attempt` consecutive missing checks (attempt ≥ 1). */
export function missingTopicBackoffMs(attempt: number, b = DEFAULT_TOPIC_BACKOFF): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
}

/** One trouble's clock: since when, its give-up timer, its repeated warning. */
class Trouble {
  readonly since = Date.now();
  warned = false;
  timer: NodeJS.Timeout | undefined;
  repeat: NodeJS.Timeout | undefined;
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.repeat) clearInterval(this.repeat);
    this.timer = undefined;
    this.repeat = undefined;
  }
}

export class TopicWatch {
  private readonly o: TopicWatchOptions;
  private timer: NodeJS.Timeout | undefined;
  private applying: Promise<void> | undefined;
  private closed = false;
  private missing = 0;
  private errors = 0;
  private found = false;
  private lastError: unknown;
  private unreachable: Trouble | undefined;
  private absent: Trouble | undefined;

  constructor(o: TopicWatchOptions) {
    this.o = o;
  }

  /** Handles the first check's result (fetched by the caller, which reports its errors) and schedules the next. */
  async begin(first: number[] | undefined): Promise<void> {
    await this.handle(first);
  }

  private async handle(partitions: number[] | undefined): Promise<void> {
    if (this.closed) return;
    this.errors = 0;
    this.lastError = undefined;
    this.unreachable = this.recovered(this.unreachable, 'unreachable');
    if (partitions === undefined) {
      this.missing++;
      this.absent ??= this.start('missing');
      this.o.onMissing(this.missing);
      this.warnIfDue(this.absent, 'missing');
      this.schedule(missingTopicBackoffMs(this.missing, this.o.backoff));
      return;
    }
    this.missing = 0;
    this.absent = this.recovered(this.absent, 'missing');
    this.found = true;
    this.applying = this.o.onPartitions(partitions);
    try {
      await this.applying;
    } finally {
      this.applying = undefined;
    }
    if (this.o.discoveryMs > 0) this.schedule(this.o.discoveryMs);
  }

  private async check(): Promise<void> {
    // A check that never answers (a stopped broker keeps its port open) counts from its start.
    this.unreachable ??= this.start('unreachable');
    let partitions: number[] | undefined;
    try {
      partitions = await this.o.fetch();
    } catch (e) {
      if (this.closed) return;
      this.errors++;
      this.lastError = e;
      this.o.onError(e);
      if (this.unreachable) this.warnIfDue(this.unreachable, 'unreachable');
      this.schedule(
        this.found
          ? Math.min(this.o.discoveryMs, missingTopicBackoffMs(this.errors, this.o.backoff))
          : missingTopicBackoffMs(Math.max(1, this.missing), this.o.backoff),
      );
      return;
    }
    await this.handle(partitions);
  }

  /** A trouble's clock, and its give-up timer when the watch is bounded. */
  private start(kind: WatchTrouble['kind']): Trouble {
    const t = new Trouble();
    const b = this.o.bounds;
    if (b) {
      const ms = kind === 'missing' ? b.missingMs : b.unreachableMs;
      t.timer = setTimeout(() => this.giveUp(this.trouble(t, kind)), ms);
      // Also while a check hangs: the trouble is reported even when nothing fails.
      t.repeat = setInterval(() => this.warn(t, kind), Math.min(b.warnEveryMs, Math.max(1000, Math.floor(ms / 3))));
    }
    return t;
  }

  private end(t: Trouble | undefined): undefined {
    t?.clear();
    return undefined;
  }

  /** Ends a trouble that is over (not one cut short by close): onRecovered when it was reported. */
  private recovered(t: Trouble | undefined, kind: WatchTrouble['kind']): undefined {
    if (t?.warned) this.o.onRecovered?.(kind);
    return this.end(t);
  }

  private trouble(t: Trouble, kind: WatchTrouble['kind']): WatchTrouble {
    const forMs = Date.now() - t.since;
    return kind === 'missing'
      ? { kind, forMs }
      : {
          kind,
          forMs,
          error: this.lastError ?? new Error(`no answer from the brokers for ${Math.round(forMs / 1000)} s`),
          ...(this.lastError === undefined ? { unanswered: true } : {}),
        };
  }

  /** The first warning of a trouble, when it shows (later ones come from its `repeat` timer). */
  private warnIfDue(t: Trouble, kind: WatchTrouble['kind']): void {
    if (!t.warned) this.warn(t, kind);
  }

  private warn(t: Trouble, kind: WatchTrouble['kind']): void {
    t.warned = true;
    this.o.onWarn?.(this.trouble(t, kind));
  }

  private giveUp(t: WatchTrouble): void {
    if (this.closed) return;
    this.stop();
    this.o.onGiveUp?.(t);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // onPartitions failing here is the reader's to report (it fails the source); never unhandled.
      void this.check().catch((e: unknown) => this.o.onError(e));
    }, ms);
  }

  private stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unreachable = this.end(this.unreachable);
    this.absent = this.end(this.absent);
  }

  async close(): Promise<void> {
    this.stop();
    await this.applying?.catch(() => undefined); // its failure was the reader's to report
  }
}
