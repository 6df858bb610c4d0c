// A timer of a keyed operator: what the timer queue orders and fires (timer-queue.ts).

/** A timer of one key: fires at `ts` (the owner's time domain). */
export interface Timer {
  ts: number;
  kg: number;
  key: string;
  /** Operator-defined namespace, e.g. a window start. */
  ns: number | string;
  deleted: boolean;
}
