// What each kill round of a chaos test delivered, for `npm run soak` (test/soak/run.ts): one
// JSON line per round appended to TRIBUTARY_SOAK_REPORT when it is set (nothing otherwise).
// A round reports before it asserts, so a failing round is counted too.
import { appendFileSync } from 'node:fs';
import { deliveryDiff } from './java-topic-reader.ts';

export type Guarantee = 'exactly-once' | 'at-least-once';

export interface SoakRound {
  /** The chaos suite (its file's role, e.g. `distributed-kill`). */
  readonly suite: string;
  /** The variant within the suite (state store, delivery, thread mode). */
  readonly mode: string;
  readonly guarantee: Guarantee;
  readonly round: number;
  /** SIGKILLs that hit a running process in this round. */
  readonly kills: number;
  readonly expected: number;
  readonly missing: number;
  readonly duplicated: number;
  readonly unexpected: number;
}

export const SOAK_REPORT_ENV = 'TRIBUTARY_SOAK_REPORT';

/** Compares `got` with `expected` (value multisets), appends the round to the report, and returns the diff. */
export function reportSoakRound(
  round: Omit<SoakRound, 'expected' | 'missing' | 'duplicated' | 'unexpected'>,
  expected: readonly string[],
  got: readonly string[],
): ReturnType<typeof deliveryDiff> {
  const diff = deliveryDiff(expected, got);
  const file = process.env[SOAK_REPORT_ENV];
  if (file) {
    const line: SoakRound = {
      ...round,
      expected: expected.length,
      missing: diff.missing.length,
      duplicated: diff.duplicated.length,
      unexpected: diff.unexpected.length,
    };
    appendFileSync(file, JSON.stringify(line) + '\n');
  }
  return diff;
}
