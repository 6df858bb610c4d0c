// A keep-first dedupe (no `within`) driven directly, with and without a `ttl`, over a stream whose
// keys repeat at gaps both shorter and longer than the TTL; and the check of what the two promise
// alike (docs/runtime/graph.md, "Dedupe"). Shared by dedupe-ttl.test.ts (small) and
// bench/state-ttl.ts (24 h of event time).
//
// The TTL is processing time. The run replays event time as if in real time: the operator's clock
// reads the watermark, which follows the records (in event-time order, a watermark after each
// batch at its last record's time), so a record is decided at the clock of its batch's watermark.
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import { DedupeOperator } from '../operators/dedupe.ts';
import type { Output } from '../operators/types.ts';
import type { StateStore } from '../state/disk-store.ts';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { testContext } from './harness.ts';

export interface DedupeStream {
  /** Event time of record i (ms, strictly increasing). */
  readonly ts: Float64Array;
  /** Key of record i. */
  readonly key: Int32Array;
}

export interface StreamShape {
  records: number;
  /** Event time between consecutive records (ms). */
  stepMs: number;
  /** Share of records with a key never seen before. */
  newKeyShare: number;
  /** A repeated key repeats the record this far back (ms), drawn log-uniformly in [min, max]. */
  gapMinMs: number;
  gapMaxMs: number;
  seed: number;
}

/** A seeded stream: each record a new key, or the key of the record a log-uniform gap earlier. */
export function dedupeStream(s: StreamShape): DedupeStream {
  let x = s.seed >>> 0 || 1;
  const rnd = (): number => {
    // xorshift32: deterministic for a seed, fast enough for millions of draws.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const ts = new Float64Array(s.records);
  const key = new Int32Array(s.records);
  const lo = Math.log(s.gapMinMs);
  const hi = Math.log(s.gapMaxMs);
  let keys = 0;
  for (let i = 0; i < s.records; i++) {
    ts[i] = i * s.stepMs;
    const back = rnd() < s.newKeyShare ? -1 : i - Math.round(Math.exp(lo + rnd() * (hi - lo)) / s.stepMs);
    key[i] = back >= 0 && back < i ? (key[back] as number) : keys++;
  }
  return { ts, key };
}

/** Marks the records that pass by their id. */
class PassedIds implements Output {
  readonly passed: Uint8Array;
  constructor(n: number) {
    this.passed = new Uint8Array(n);
  }
  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.passed[(b.recs[i] as Rec)['id'] as number] = 1;
  }
  watermark(): void {}
  idle(): void {}
  end(): void {}
}

export interface DedupeRun {
  /** 1 where record i passed. */
  passed: Uint8Array;
  /** Processing time (the clock) at which record i was decided. */
  decidedAt: Float64Array;
  /** [event time, keys remembered] after each `sampleEveryMs` of event time, and at the last record. */
  samples: [number, number][];
  /** Entries the TTL removed (tributary_state_expired_total). */
  expired: number;
  /** Bytes of a full snapshot at the end. */
  snapshotBytes: number;
  wallMs: number;
}

export interface RunOptions {
  ttlMs: number | undefined;
  /** Records per batch (a watermark after each). */
  batch: number;
  sampleEveryMs: number;
  stateStore?: (() => StateStore) | undefined;
}

/** Drives one keep-first dedupe over `s`, its clock reading the watermark. */
export function runDedupe(s: DedupeStream, o: RunOptions): DedupeRun {
  const n = s.ts.length;
  const ctx = testContext({ stateStore: o.stateStore });
  const out = new PassedIds(n);
  const op = new DedupeOperator('dedupe', undefined, ctx, out, o.ttlMs);
  const decidedAt = new Float64Array(n);
  const samples: [number, number][] = [[0, 0]];
  let nextSample = o.sampleEveryMs;
  const t0 = performance.now();
  for (let i = 0; i < n; i += o.batch) {
    const end = Math.min(n, i + o.batch);
    const b: Batch = { recs: [], ts: [], keys: [], kgs: [], n: 0 };
    for (let j = i; j < end; j++) {
      const k = canonicalKey([s.key[j]]);
      b.recs.push({ id: j, k: s.key[j] });
      b.ts.push(s.ts[j] as number);
      b.keys.push(k);
      b.kgs.push(keyGroupOf(k, ctx.maxParallelism));
      b.n++;
    }
    op.push(b);
    op.keyedBackend.maintain();
    const wm = s.ts[end - 1] as number;
    ctx.clock.advanceTo(wm);
    op.watermark(wm);
    op.keyedBackend.maintain();
    decidedAt.fill(wm, i, end);
    while (wm >= nextSample) {
      samples.push([nextSample, op.rememberedCount]);
      nextSample += o.sampleEveryMs;
    }
  }
  const wallMs = performance.now() - t0;
  const last = n === 0 ? 0 : (s.ts[n - 1] as number);
  if ((samples[samples.length - 1] as [number, number])[0] < last) samples.push([last, op.rememberedCount]);
  const snapshotBytes = op.snapshotState().length;
  op.keyedBackend.close();
  return { passed: out.passed, decidedAt, samples, expired: ctx.expired, snapshotBytes, wallMs };
}

export interface PromiseCheck {
  /** Records the TTL dedupe dropped and the plain one passed: 0 when the promise holds. */
  droppedOnlyWithTtl: number;
  /** Records decided less than `ttl` after their key's first record (and those first records). */
  promised: number;
  /** Of those, records the two decided differently: 0 when the promise holds. */
  promisedDiffering: number;
  /** Records only the TTL dedupe passed (each a key it had forgotten). */
  passedOnlyWithTtl: number;
  /** Of those, records whose key's previous record is less than `ttl` earlier in event time. */
  passedOnlyWithTtlRecentRepeat: number;
}

/**
 * What the two keep-first dedupes promise alike: the TTL one drops only records the plain one
 * drops too, and both decide alike a key's first record and every record of the key decided
 * less than `ttl` (processing time) after that first record.
 */
export function checkTtlPromise(s: DedupeStream, plain: DedupeRun, ttl: DedupeRun, ttlMs: number): PromiseCheck {
  const c: PromiseCheck = {
    droppedOnlyWithTtl: 0,
    promised: 0,
    promisedDiffering: 0,
    passedOnlyWithTtl: 0,
    passedOnlyWithTtlRecentRepeat: 0,
  };
  const first = new Map<number, number>();
  const previous = new Map<number, number>();
  for (let i = 0; i < s.ts.length; i++) {
    const k = s.key[i] as number;
    const p = plain.passed[i] === 1;
    const t = ttl.passed[i] === 1;
    if (!t && p) c.droppedOnlyWithTtl++;
    const f = first.get(k) ?? i;
    if (f === i) first.set(k, i);
    if ((ttl.decidedAt[i] as number) - (ttl.decidedAt[f] as number) < ttlMs) {
      c.promised++;
      if (p !== t) c.promisedDiffering++;
    }
    if (t && !p) {
      c.passedOnlyWithTtl++;
      const prev = previous.get(k);
      if (prev !== undefined && (s.ts[i] as number) - (s.ts[prev] as number) < ttlMs) c.passedOnlyWithTtlRecentRepeat++;
    }
    previous.set(k, i);
  }
  return c;
}
