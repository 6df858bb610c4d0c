// A slot's load counters (control/contract.ts SlotLoad, the operator's autoscaler's input) and
// their Prometheus counterparts. Everything here is cumulative since the slot's graph started
// (JobExecutor.run), read when asked (GET /v1/status, a scrape), never per record.
//
// Why event-loop utilization is the slot's `eventLoop` busy time: a slot is one mailbox loop on
// one JavaScript thread (slot.ts). While it has work it steps its tasks and yields with
// setImmediate, which passes through the event loop's poll phase without waiting; when every
// task waits (for input, for a timer, for room in a full output) the loop sleeps on a promise,
// and the thread sits idle in the poll phase. ELU's `active` is exactly the time the thread was
// not idle there: the share of wall time spent processing, not waiting for input or
// backpressured. It also counts what the thread does on the slot's behalf besides its tasks
// (decoding Kafka fetches when they are not on a fetch thread, GC, answering the control API),
// which bounds the slot's throughput just the same. It is per thread: a slot process or a
// worker-thread slot (`tributary run --threads`) measures its own; slots sharing one event loop
// (a local `tributary run` at parallelism > 1) each report the process's, which is what bounds
// all of them together. Two limits: it is wall time, so a thread the OS does not schedule (more
// runnable threads than cores) counts as busy while it runs slowly — still the share of time the
// slot cannot take more input; and a slot that waits on calls in flight is idle to ELU, which is
// why an async step registers its own reader (its capacity in use) next to this one.
import type { SlotLoad, SourceLoad } from '../control/contract.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { BackpressureClock } from './backpressure-clock.ts';
import type { BusyReader } from '../core/load-meter.ts';
import type { Slot } from './slot.ts';
import type { SourceTask } from './source-task.ts';

/** What of a slot (slot-builder.ts SlotParts) its load is read from. */
export interface LoadedSlot {
  readonly slot: Slot;
  readonly sources: readonly SourceTask[];
  readonly loadCounters: SlotLoadCounters;
}

/**
 * Busy milliseconds of the calling thread's event loop since this call. ELU's `active` is
 * cumulative since the thread started; the baseline makes it the slot's since its start.
 */
export function eventLoopBusy(): BusyReader {
  const base = performance.eventLoopUtilization().active;
  let last = 0;
  return () => {
    // Never decreases (LoadMeter's invariant), whatever the platform's clock does.
    last = Math.max(last, performance.eventLoopUtilization().active - base);
    return last;
  };
}

/** The counters of one slot that its LoadMeter does not hold: its start and its backpressure. */
export class SlotLoadCounters {
  private startedAt: number | undefined;
  private backpressuredMs = 0;
  private readonly clocks: BackpressureClock[] = [];

  /** The slot's graph starts: uptime and the event loop's busy time count from here. */
  start(slot: Slot): void {
    if (this.startedAt !== undefined) return;
    this.startedAt = performance.now();
    slot.load.register('eventLoop', eventLoopBusy());
  }

  /** A task's backpressure clock, whose blocked period under way counts before it ends. */
  track(clock: BackpressureClock): BackpressureClock {
    this.clocks.push(clock);
    return clock;
  }

  /** A blocked period of one of the slot's tasks ended (BackpressureClock's report). */
  addBackpressured(seconds: number): void {
    this.backpressuredMs += seconds * 1000;
  }

  get started(): boolean {
    return this.startedAt !== undefined;
  }

  get uptimeMs(): number {
    return this.startedAt === undefined ? 0 : performance.now() - this.startedAt;
  }

  /**
   * Summed over the slot's tasks, as `tributary_backpressured_seconds_total{slot}` (so several
   * tasks blocked at once count several times), with the periods under way: a slot stuck behind
   * a full output shows it while stuck, not only once it can run again.
   */
  get backpressured(): number {
    let ms = this.backpressuredMs;
    for (const c of this.clocks) ms += c.openMs;
    return ms;
  }
}

/** One slot's load now; undefined before its graph started. */
export function slotLoad(p: LoadedSlot): SlotLoad | undefined {
  if (!p.loadCounters.started) return undefined;
  const sources: SourceLoad[] = [];
  let recordsIn = 0;
  for (const src of p.sources) {
    recordsIn += src.records;
    // Sources without partitions (datagen, files, collections, Kudu) are not listed: the
    // autoscaler bounds parallelism by partitions and drains lag, which only Kafka has.
    const part = src.partitionLoad();
    if (part) sources.push({ source: src.sourceName, ...part, recordsIn: src.records });
  }
  return {
    uptimeMs: p.loadCounters.uptimeMs,
    busyMs: p.slot.load.busyMs(),
    backpressuredMs: p.loadCounters.backpressured,
    recordsIn,
    sources,
  };
}

/**
 * The load of this process's slots as one answer (the control API answers once per process):
 * one slot's as it is. Several slots in one process (a local run) are answered as one average
 * slot: busy and backpressured milliseconds are the mean over the slots (the event loop's is the
 * same in each), records, assigned partitions and lag are summed, as recordsIn is.
 */
export function processLoad(slots: readonly LoadedSlot[]): SlotLoad | undefined {
  const loads = slots.map(slotLoad).filter((l): l is SlotLoad => l !== undefined);
  if (loads.length <= 1) return loads[0];
  const n = loads.length;
  const busy: Record<string, number> = {};
  const sources = new Map<string, SourceLoad>();
  for (const l of loads) {
    for (const [k, v] of Object.entries(l.busyMs)) busy[k] = (busy[k] ?? 0) + v / n;
    for (const s of l.sources) {
      const o = sources.get(s.source);
      sources.set(
        s.source,
        o
          ? {
              source: s.source,
              partitions: Math.max(o.partitions, s.partitions),
              assigned: o.assigned + s.assigned,
              lag: o.lag + s.lag,
              recordsIn: o.recordsIn + s.recordsIn,
            }
          : s,
      );
    }
  }
  return {
    uptimeMs: Math.max(...loads.map((l) => l.uptimeMs)),
    busyMs: busy,
    backpressuredMs: loads.reduce((a, l) => a + l.backpressuredMs, 0) / n,
    recordsIn: loads.reduce((a, l) => a + l.recordsIn, 0),
    sources: [...sources.values()],
  };
}

/**
 * At a scrape: `tributary_busy_seconds_total{slot,resource}` from each slot's LoadMeter and
 * `tributary_source_partitions{source}`. The counter is set from the cumulative readers
 * (reset, then incremented to their value: prom-client's counters have no set), so it counts
 * since this job's start; a new job in the same process starts it over, which Prometheus reads
 * as a counter reset.
 */
export function publishSlotLoad(metrics: JobMetrics, slots: readonly LoadedSlot[]): void {
  metrics.busySeconds.reset();
  for (const p of slots) {
    if (!p.loadCounters.started) continue;
    const slot = String(p.slot.index);
    for (const [resource, ms] of Object.entries(p.slot.load.busyMs()))
      metrics.busySeconds.labels(slot, resource).inc(ms / 1000);
    for (const src of p.sources) {
      const part = src.partitionLoad();
      if (part && part.partitions > 0) metrics.sourcePartitions.labels(src.sourceName).set(part.partitions);
    }
  }
}
