// Crash-loop backoff: base doubling up to max per consecutive restart of one container, reset
// once a run lasted longer than `resetAfterMs`. The kubelet uses 10s → 5m, reset after 10m;
// the node agent defaults to 1s → 30s, reset after 60s so that tests see restarts quickly
// (overridable with --crash-backoff-base / --crash-backoff-max, in seconds).

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffConfig = { baseMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

export class CrashBackoff {
  readonly #cfg: BackoffConfig;
  #consecutive = 0;

  constructor(cfg: BackoffConfig) {
    this.#cfg = cfg;
  }

  /** Delay before the next start, given how long the run that just ended lasted. */
  next(runMs: number): number {
    if (runMs >= this.#cfg.resetAfterMs) this.#consecutive = 0;
    const delay = Math.min(this.#cfg.maxMs, this.#cfg.baseMs * 2 ** this.#consecutive);
    this.#consecutive++;
    return delay;
  }
}

/** Resolves after `ms`, or early (with false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
