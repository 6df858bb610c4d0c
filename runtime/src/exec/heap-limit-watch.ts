// Fails a job whose live heap no longer fits its heap limit, with an error that names the limit,
// instead of letting V8 stall in back-to-back full collections and then abort the process with
// "JavaScript heap out of memory" (no error code, no status, and on a pod a crash loop that says
// nothing). Keyed state lives in the heap (state/keyed-state.ts), so this is how a job whose state
// outgrew its memory ends.
//
// The judge is the old generation right after a major (mark-compact) collection: what is live then
// is what the job holds, not garbage, and the old generation is what V8 runs out of. Once it stays
// at or above `ratio` of the old generation's limit for `consecutive` major collections in a row,
// the job fails with TRIB_STATE_MEMORY_LIMIT. A single sample is not enough: the collection after a
// burst of allocation may still see much of it live. The observer runs on the isolate it measures:
// a slot thread measures its own heap.
//
// The old generation's limit: a worker's resourceLimits, else --max-old-space-size, else V8's heap
// limit less the young generation it reserves (three semi-spaces) when --max-semi-space-size says
// how large, else the whole heap limit. The last two err high: a limit judged too high trips late or
// not at all (V8's own abort, as without the watch), never early on a job that still fits.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { isMainThread, resourceLimits } from 'node:worker_threads';
import { TributaryError } from '../errors.ts';

export interface HeapSample {
  /** Bytes in use after a major collection. */
  used: number;
  /** The isolate's heap limit in bytes. */
  limit: number;
}

export interface HeapLimitWatchOptions {
  /** Called once, when the limit is judged reached. */
  onLimit: (e: TributaryError) => void;
  /** What holds the heap, for the message (e.g. keys per stateful step). */
  describe?: () => string;
  /** Fraction of the limit that counts as full (default 0.85). */
  ratio?: number;
  /** Major collections in a row at or above `ratio` (default 2). */
  consecutive?: number;
  /** Reads the heap after a major collection (tests pass their own). */
  sample?: () => HeapSample;
}

const MiB = 1024 * 1024;
const mib = (n: number): string => `${Math.round(n / MiB)} MiB`;

/** Counts major collections at or above the ratio; true once `consecutive` came in a row. */
export class HeapLimitJudge {
  private run = 0;
  private readonly ratio: number;
  private readonly consecutive: number;
  constructor(ratio = 0.85, consecutive = 2) {
    this.ratio = ratio;
    this.consecutive = consecutive;
  }

  /** Feeds one sample taken after a major collection. */
  full(s: HeapSample): boolean {
    this.run = s.limit > 0 && s.used >= this.ratio * s.limit ? this.run + 1 : 0;
    return this.run >= this.consecutive;
  }
}

/** This isolate's whole heap limit in MiB (a worker started with no resourceLimits has its parent's). */
export const heapSizeLimitMiB = (): number => Math.round(v8.getHeapStatistics().heap_size_limit / MiB);

/** Node's flags as V8 reads them: NODE_OPTIONS first (the command line wins), `_` spelled `-`. */
function nodeFlags(execArgv: readonly string[], nodeOptions: string): string[] {
  return [...nodeOptions.split(/\s+/), ...execArgv].map((a) => a.replace(/_/g, '-'));
}

/** Where this isolate's heap limit comes from, as a user would change it. */
export function heapLimitSource(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env['NODE_OPTIONS'] ?? '',
): string {
  if (!isMainThread && resourceLimits.maxOldGenerationSizeMb)
    return `the slot thread's maxOldGenerationSizeMb=${resourceLimits.maxOldGenerationSizeMb}`;
  const flag = nodeFlags(execArgv, nodeOptions).findLast((a) => a.startsWith('--max-old-space-size='));
  if (flag) return flag;
  const constrained = process.constrainedMemory();
  if (constrained > 0 && constrained < Number.MAX_SAFE_INTEGER)
    return `V8's default for the container's memory limit of ${mib(constrained)}`;
  return "V8's default for this machine's memory";
}

export function heapLimitError(s: HeapSample, source: string, held: string | undefined): TributaryError {
  const pct = Math.round((100 * s.used) / s.limit);
  return new TributaryError(
    'TRIB_STATE_MEMORY_LIMIT',
    `the heap's old generation holds ${mib(s.used)} after full garbage collections, ${pct}% of its limit of ${mib(s.limit)} (${source})` +
      (held ? `; keyed state: ${held}` : '') +
      ': the job needs more memory than the slot has. Raise the pod memory limit (or --max-old-space-size), ' +
      'spread the keys over more slots (parallelism), keep keyed state on disk (spec.stateBackend: disk), ' +
      'or bound the state (ttl, windows)',
  );
}

const flagMiB = (args: readonly string[], name: string): number | undefined => {
  const m = args.map((a) => new RegExp(`^--${name}[=](\\d+)$`).exec(a)).findLast((x) => x !== null);
  return m ? Number(m[1]) * MiB : undefined;
};

/** The old generation's limit in bytes (see the header). */
export function oldGenerationLimit(
  heapSizeLimit: number,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env['NODE_OPTIONS'] ?? '',
): number {
  if (!isMainThread && resourceLimits.maxOldGenerationSizeMb) return resourceLimits.maxOldGenerationSizeMb * MiB;
  const args = nodeFlags(execArgv, nodeOptions);
  const old = flagMiB(args, 'max-old-space-size');
  if (old !== undefined) return old;
  const semi = flagMiB(args, 'max-semi-space-size');
  return semi !== undefined ? heapSizeLimit - 3 * semi : heapSizeLimit;
}

/** Reads the old generation after a major collection; its limit is fixed for the isolate's life, so read once. */
function oldGenerationSampler(): () => HeapSample {
  const limit = oldGenerationLimit(v8.getHeapStatistics().heap_size_limit);
  return () => {
    let used = 0;
    for (const s of v8.getHeapSpaceStatistics()) if (!s.space_name.startsWith('new_')) used += s.space_used_size;
    return { used, limit };
  };
}

/** Watches this isolate's major collections until stopped; calls onLimit at most once. */
export function watchHeapLimit(o: HeapLimitWatchOptions): { stop(): void } {
  const judge = new HeapLimitJudge(o.ratio, o.consecutive);
  const sample = o.sample ?? oldGenerationSampler();
  let tripped = false;
  const observer = new PerformanceObserver((list) => {
    if (tripped) return;
    const major = list
      .getEntries()
      .some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    const s = sample();
    if (!judge.full(s)) return;
    tripped = true;
    observer.disconnect();
    let held: string | undefined;
    try {
      held = o.describe?.();
    } catch {
      held = undefined;
    }
    o.onLimit(heapLimitError(s, heapLimitSource(), held));
  });
  observer.observe({ entryTypes: ['gc'] });
  return { stop: () => observer.disconnect() };
}
