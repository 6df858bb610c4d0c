// How long a Kafka source waits for unreachable brokers before it fails the job. kafkajs
// restarts a consumer whose fetches cannot connect about once a second, for ever: a job whose
// sinks have nothing to write (no open transaction to commit) would wait without a word for a
// broker that may never come back, and report RUNNING all along. Failing after a bound hands
// the outage to the restart policy (restarts from the latest checkpoint, with backoff, each
// naming the source and the brokers), as Flink's Kafka connector fails once its client's
// blocking calls time out. Any answered fetch starts the count again. The bound is the source's
// `brokerUnreachableTimeout` (source-bounds.ts).
import { TributaryError } from '../../errors.ts';

/** Unreachable for this long (ms), continuously, fails the source. */
export const BROKERS_UNREACHABLE_FAIL_MS = 30_000;

// A request timeout is a broker that accepts connections but does not answer (stopped, hung).
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
]);

/** The error, or one of its causes, is a failure to connect to (or stay connected to) a broker. */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (CONNECTION_ERRORS.has(e.name)) return true;
  return false;
}

export class BrokerReachability {
  #since: number | undefined;
  readonly #limitMs: number;
  readonly #now: () => number;

  constructor(limitMs = BROKERS_UNREACHABLE_FAIL_MS, now: () => number = Date.now) {
    this.#limitMs = limitMs;
    this.#now = now;
  }

  /** A fetch was answered: the brokers are reachable. True when they were not until now. */
  reached(): boolean {
    const was = this.#since !== undefined;
    this.#since = undefined;
    return was;
  }

  /** Since when (epoch ms) the brokers refuse or drop the consumer; undefined while they answer. */
  get since(): number | undefined {
    return this.#since;
  }

  /**
   * A consumer crash. Returns the error that fails the source once its brokers have been
   * unreachable for the limit; undefined while kafkajs may keep retrying.
   */
  crashed(err: unknown, brokers: readonly string[]): TributaryError | undefined {
    if (!isConnectionError(err)) return undefined;
    const now = this.#now();
    this.#since ??= now;
    const forMs = now - this.#since;
    if (forMs < this.#limitMs) return undefined;
    return new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `brokers ${brokers.join(',')} unreachable for ${Math.round(forMs / 1000)} s: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
