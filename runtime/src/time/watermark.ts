// Watermark constants. Watermarks are epoch milliseconds; a watermark W asserts that no
// more records with timestamp ≤ W are expected (Flink semantics).
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;
/** Emitted when a bounded input ends (or a drain is requested): fires every event-time timer. */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

export function formatWatermark(wm: number): string {
  if (wm <= MIN_WATERMARK) return '-∞';
  if (wm >= MAX_WATERMARK) return '+∞';
  return new Date(wm).toISOString();
}
