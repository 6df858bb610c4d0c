// A slot's busy-time counters by resource (control/contract.ts SlotLoad.busyMs): the parts of
// the slot that can bound its throughput register a cumulative "busy milliseconds" reader here,
// and the slot's status and metrics read them all at once. Readers are cumulative so a reader of
// the load needs no window of its own: two readings and the time between them give a ratio.
// Invariant: a registered reader never decreases.

export type BusyReader = () => number;

export class LoadMeter {
  private readonly readers = new Map<string, BusyReader>();

  /** Registers `name` (`eventLoop`, or an async step's name); a second registration of a name replaces the first. */
  register(name: string, busyMs: BusyReader): void {
    this.readers.set(name, busyMs);
  }

  /** Busy milliseconds per registered resource, now. */
  busyMs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, read] of this.readers) out[name] = read();
    return out;
  }
}

/**
 * Time-weighted share of a capacity in use, in busy milliseconds: `inFlight / capacity` integrated
 * over time. An async step at its capacity all the time is busy all the time; one with half its
 * capacity in flight is half busy. Call `change(n)` whenever the number in flight changes.
 */
export class CapacityClock {
  private readonly capacity: number;
  private inFlight = 0;
  private since = performance.now();
  private total = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  change(inFlight: number): void {
    const now = performance.now();
    this.total += ((now - this.since) * Math.min(this.inFlight, this.capacity)) / this.capacity;
    this.since = now;
    this.inFlight = inFlight;
  }

  busyMs(): number {
    const now = performance.now();
    return this.total + ((now - this.since) * Math.min(this.inFlight, this.capacity)) / this.capacity;
  }
}
