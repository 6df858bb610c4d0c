// Key groups (Flink's KeyGroupRangeAssignment, with a portable hash):
//   keyGroup(key)        = murmur3_32(UTF-8(canonicalKey(key))) mod maxParallelism
//   slotFor(kg)          = floor(kg * parallelism / maxParallelism)
//   rangeFor(slot)       = [ceil(slot*maxP/p), floor(((slot+1)*maxP - 1)/p)]
// maxParallelism is fixed for the life of a job's state: it is the unit of rescaling.
import { murmur3String } from './murmur3.ts';

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

export const HASH_FUNCTION = 'murmur3_32/seed0/utf8-json-key';
export const DEFAULT_MAX_PARALLELISM = 128;
export const MAX_MAX_PARALLELISM = 32768;

export interface KeyGroupRange {
  /** Inclusive. */
  start: number;
  /** Inclusive; end < start means empty. */
  end: number;
}

/**
 * The canonical key: JSON of the list of key parts (`["de","home"]`). JSON is stable for
 * strings, finite numbers, booleans and null; objects are encoded with sorted keys; a BigInt is
 * its digits (the key of the equal number: `[4]` for 4n and 4).
 */
export function canonicalKey(parts: readonly unknown[]): string {
  if (parts.length === 1) {
    const v = parts[0];
    if (typeof v === 'string') return `[${JSON.stringify(v)}]`;
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return `[${JSON.stringify(v)}]`;
    // A typed format's integer: its digits, the key of the same number (and the same key group) when exact.
    if (typeof v === 'bigint') return `[${v}]`;
  }
  const stableParts = parts.map(stable);
  try {
    return JSON.stringify(stableParts);
  } catch {
    // A BigInt among the parts: its digits (state is a leaf: core/json-text.ts does the same for records).
    return JSON.stringify(stableParts, (_k, x: unknown) => (typeof x === 'bigint' ? rawJSON(x.toString()) : x));
  }
}

function stable(v: unknown): unknown {
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(stable);
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = stable(o[k]);
  return out;
}

export function keyGroupOf(canonical: string, maxParallelism: number): number {
  return murmur3String(canonical) % maxParallelism;
}

export function slotForKeyGroup(kg: number, parallelism: number, maxParallelism: number): number {
  return Math.floor((kg * parallelism) / maxParallelism);
}

export function keyGroupRangeForSlot(slot: number, parallelism: number, maxParallelism: number): KeyGroupRange {
  return {
    start: Math.floor((slot * maxParallelism + parallelism - 1) / parallelism),
    end: Math.floor(((slot + 1) * maxParallelism - 1) / parallelism),
  };
}

/** Flink's default: roundUpPow2(p + p/2), at least 128, at most 32768. */
export function defaultMaxParallelism(parallelism: number): number {
  let n = 1;
  while (n < parallelism + Math.floor(parallelism / 2)) n *= 2;
  return Math.min(Math.max(n, DEFAULT_MAX_PARALLELISM), MAX_MAX_PARALLELISM);
}

export function rangeContains(r: KeyGroupRange, kg: number): boolean {
  return kg >= r.start && kg <= r.end;
}

/** Ascending key groups as inclusive [start, end] runs (`[3, 4, 5, 9]` → `[[3, 5], [9, 9]]`). */
export function keyGroupRuns(ascending: Iterable<number>): [number, number][] {
  const runs: [number, number][] = [];
  let last: [number, number] | undefined;
  for (const kg of ascending) {
    if (last && kg === last[1] + 1) last[1] = kg;
    else runs.push((last = [kg, kg]));
  }
  return runs;
}
