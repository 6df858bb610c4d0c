// The watermark: epoch milliseconds travelling in-band on every channel, in order with the
// records; a watermark W asserts that no more records with timestamp ≤ W are expected (Flink
// semantics). time/ holds what makes and combines them (out-of-orderness, valve, alignment).
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;
/** Emitted when a bounded input ends (or a drain is requested): fires every event-time timer. */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

export function formatWatermark(wm: number): string {
  if (wm <= MIN_WATERMARK) return '-∞';
  if (wm >= MAX_WATERMARK) return '+∞';
  return new Date(wm).toISOString();
}
