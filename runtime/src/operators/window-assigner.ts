// Window assignment for tumbling and sliding windows; sessions are merged in the operator.
// A window is [start, end); its last timestamp (and the time its trigger fires) is end − 1.

export type WindowKind =
  | { kind: 'tumbling'; size: number; offset: number }
  | { kind: 'sliding'; size: number; slide: number }
  | { kind: 'session'; gap: number };

/** Flink's TimeWindow.getWindowStartWithOffset, correct for negative timestamps. */
export function windowStart(ts: number, offset: number, size: number): number {
  const r = (ts - offset) % size;
  return r < 0 ? ts - (r + size) : ts - r;
}

/** Starts of the windows containing `ts`, latest first. */
export function assignStarts(w: WindowKind, ts: number, out: number[]): number {
  if (w.kind === 'tumbling') {
    out[0] = windowStart(ts, w.offset, w.size);
    return 1;
  }
  if (w.kind === 'sliding') {
    let n = 0;
    for (let s = windowStart(ts, 0, w.slide); s > ts - w.size; s -= w.slide) out[n++] = s;
    return n;
  }
  out[0] = ts;
  return 1;
}

export function windowSize(w: WindowKind): number {
  return w.kind === 'session' ? w.gap : w.size;
}
