// One step's count of the records it dropped on one error (exec/dropped-records.ts counts them):
// the shape GET /v1/status `recordsDropped` carries (control/contract.ts), `tributary run`'s
// end summary and the operator's RecordsDropped condition read. "The same error" is its code
// and message, so counts of several slots or processes add up by step, code and error.

/** One step's dropped records of one error. Shape is public (status, control API). */
export interface DroppedRecordCount {
  readonly step: string;
  /** The error's stable code (TRIB_EXPR_EVAL, TRIB_AGGREGATE_INPUT, TRIB_FUNCTION_FAILED, …). */
  readonly code: string;
  /** The first such record's error message. */
  readonly error: string;
  readonly count: number;
}

/** Sums counts of several slots or processes (same step, code and error: one entry). */
export function mergeDropped(lists: readonly (readonly DroppedRecordCount[] | undefined)[]): DroppedRecordCount[] {
  const by = new Map<string, DroppedRecordCount>();
  for (const list of lists)
    for (const d of list ?? []) {
      const k = `${d.step}\u0000${d.code}\u0000${d.error}`;
      const had = by.get(k);
      by.set(k, had ? { ...had, count: had.count + d.count } : d);
    }
  return [...by.values()];
}
