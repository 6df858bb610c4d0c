// The event-time gauges of a job, set when metrics are scraped (JobMetrics.onCollect), never
// per record: the watermark at each slot's sinks, per source slot its watermark, its lag behind
// the newest event seen and its time paused by alignment, and per event-time step and slot the
// same watermark and lag plus the timers it holds, and per stateful step and slot its keys and the
// bytes of its last full snapshot and delta. Values are read from the tasks and operators
// of this process's slots, which keep them as plain fields.
import type { JobMetrics } from '../telemetry/metrics.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import type { SlotParts } from './slot-builder.ts';

/** A watermark worth showing: neither "none yet" (−∞) nor "ended" (+∞, the last value stays). */
function shown(wm: number): boolean {
  return wm > MIN_WATERMARK && wm < MAX_WATERMARK;
}

export function publishJobGauges(metrics: JobMetrics, slots: readonly SlotParts[]): void {
  for (const p of slots) {
    if (p.sinks.length === 0) continue;
    const wm = Math.min(...p.sinks.map((k) => k.watermarkSeen));
    if (shown(wm)) metrics.watermark.labels(String(p.slot.index)).set(wm);
  }
  for (const p of slots) {
    const slot = String(p.slot.index);
    for (const op of p.stateful) {
      if (op.timerCount !== undefined) metrics.operatorTimers.labels(op.stateName, slot).set(op.timerCount);
      const backend = op.keyedBackend;
      if (backend) {
        metrics.stateKeys.labels(op.stateName, slot).set(backend.keyCount());
        if (backend.written.full > 0) metrics.stateBytes.labels(op.stateName, slot, 'full').set(backend.written.full);
        if (backend.written.delta > 0)
          metrics.stateBytes.labels(op.stateName, slot, 'delta').set(backend.written.delta);
        const local = backend.localStats();
        if (local) {
          metrics.stateLocalBytes.labels(op.stateName, slot).set(local.localBytes);
          metrics.stateCachedEntries.labels(op.stateName, slot).set(local.cachedEntries);
        }
      }
      const et = op.eventTimeProgress?.();
      if (!et || !shown(et.watermark)) continue;
      metrics.operatorWatermark.labels(op.stateName, slot).set(et.watermark);
      // Before the operator's first record there is no newest event, so no lag.
      if (Number.isFinite(et.newest))
        metrics.operatorWatermarkLag.labels(op.stateName, slot).set(Math.max(0, et.newest - et.watermark));
    }
    for (const src of p.sources) {
      if (src.aligned) metrics.sourceAlignmentPaused.labels(src.sourceName, slot).set(src.alignmentPausedMs / 1000);
      const wm = src.watermark;
      if (!shown(wm)) continue;
      metrics.sourceWatermark.labels(src.sourceName, slot).set(wm);
      metrics.sourceWatermarkLag.labels(src.sourceName, slot).set(Math.max(0, src.newestTimestamp - wm));
    }
  }
}
