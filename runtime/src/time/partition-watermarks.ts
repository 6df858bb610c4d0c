// Per-partition event time inside one source instance: a bounded-out-of-orderness
// generator per partition, idleness per partition, and a valve that emits the minimum over
// the partitions that are not idle.
import { BoundedOutOfOrderness } from './bounded-out-of-orderness.ts';
import { WatermarkValve, type ValveOutput } from './watermark-valve.ts';

export class PartitionWatermarks {
  private readonly boundMs: number;
  private readonly idleTimeoutMs: number | undefined;
  private readonly gens: BoundedOutOfOrderness[] = [];
  private readonly lastActivity: number[] = [];
  private readonly idle: boolean[] = [];
  private readonly valve: WatermarkValve;

  constructor(boundMs: number, idleTimeoutMs: number | undefined, out: ValveOutput) {
    this.boundMs = boundMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.valve = new WatermarkValve(0, out);
  }

  addPartition(now: number): number {
    this.gens.push(new BoundedOutOfOrderness(this.boundMs));
    this.lastActivity.push(now);
    this.idle.push(false);
    return this.valve.addChannel();
  }

  get partitionCount(): number {
    return this.gens.length;
  }

  /** Records a timestamp; the watermark is published by `emit` (once per batch, not per record). */
  onRecord(partition: number, ts: number, now: number): void {
    (this.gens[partition] as BoundedOutOfOrderness).onEvent(ts);
    this.lastActivity[partition] = now;
    if (this.idle[partition]) {
      this.idle[partition] = false;
      this.valve.inputIdle(partition, false);
    }
  }

  /**
   * Ingestion time (records stamped with the clock): every record still to come is stamped
   * at or after `now`, so each active partition's watermark may follow the clock while no
   * record arrives (Flink's IngestionTimeWatermarkGenerator).
   */
  advanceClock(now: number): void {
    for (let p = 0; p < this.gens.length; p++) if (!this.idle[p]) (this.gens[p] as BoundedOutOfOrderness).onEvent(now);
  }

  /** Pushes each partition's current watermark into the valve and re-evaluates idleness. */
  emit(now: number): void {
    for (let p = 0; p < this.gens.length; p++) {
      if (!this.idle[p]) this.valve.inputWatermark(p, (this.gens[p] as BoundedOutOfOrderness).current());
      if (
        this.idleTimeoutMs !== undefined &&
        !this.idle[p] &&
        now - (this.lastActivity[p] as number) > this.idleTimeoutMs
      ) {
        this.idle[p] = true;
        this.valve.inputIdle(p, true);
      }
    }
  }

  /** A finished partition stops holding back the others. */
  finishPartition(p: number): void {
    if (!this.idle[p]) {
      this.valve.inputWatermark(p, (this.gens[p] as BoundedOutOfOrderness).current());
      this.idle[p] = true;
      this.valve.inputIdle(p, true);
    }
  }

  get watermark(): number {
    return this.valve.watermark;
  }
}
