// Deterministic per-record randomness: record i of seed s always gets the same values,
// whichever slot generates it, so output does not depend on parallelism.

export class RecordRandom {
  private state = 0;

  /** Positions the generator at record `index`. */
  reset(seed: number, index: number): void {
    let h = (seed ^ Math.imul(index, 0x9e3779b1)) | 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.state = (h ^ (h >>> 16)) | 0;
    // Also mix in the high part of large indices.
    this.state ^= Math.floor(index / 4294967296) | 0;
  }

  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)] as T;
  }
}
