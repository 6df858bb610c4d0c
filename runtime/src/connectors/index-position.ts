// Position of a source that reads a numbered sequence (datagen record i, collection element
// i, file line i), where slot s of p reads the indexes i ≡ s (mod p). The set of indexes
// already emitted by the whole job is a union of layers, one per parallelism the job ran at:
//   layer {stride, next[]}: index i is emitted iff i < next[i mod stride]
// Every slot snapshots the inherited layers plus its own `next`; the restore merges the old
// slots into one new layer, computes the floor (every index below it is emitted) and drops
// layers entirely below it. A new slot t of q then reads i ≡ t (mod q), i ≥ floor, skipping
// indexes an older layer already emitted. So any sequence of rescales emits every index once.

export interface IndexLayer {
  stride: number;
  next: number[];
}

/** What one slot snapshots (JSON). */
export interface IndexPosition {
  kind: 'index';
  /** Layers inherited from earlier runs (identical in every slot). */
  layers: IndexLayer[];
  parallelism: number;
  slot: number;
  next: number;
  /** Connector extras (datagen: event time of record 0). */
  extra?: Record<string, unknown>;
}

function emittedBy(layers: readonly IndexLayer[], i: number): boolean {
  for (const l of layers) if (i < (l.next[i % l.stride] as number)) return true;
  return false;
}

export class IndexCursor {
  private readonly slot: number;
  private readonly parallelism: number;
  private readonly layers: IndexLayer[];
  /** Above this, no inherited layer has emitted anything: no check needed. */
  private readonly layersEnd: number;
  /** Next candidate index of this slot. */
  private cur: number;
  readonly extra: Record<string, unknown> | undefined;

  constructor(slot: number, parallelism: number, restored?: readonly unknown[]) {
    this.slot = slot;
    this.parallelism = parallelism;
    const positions = (restored ?? []).filter((x): x is IndexPosition => (x as IndexPosition | null)?.kind === 'index');
    if (positions.length === 0) {
      this.layers = [];
      this.layersEnd = 0;
      this.cur = slot;
      this.extra = undefined;
      return;
    }
    const first = positions[0] as IndexPosition;
    this.extra = first.extra;
    const merged: IndexLayer = { stride: first.parallelism, next: new Array<number>(first.parallelism).fill(0) };
    for (const p of positions) merged.next[p.slot] = p.next;
    // A slot absent from the positions emitted nothing of its residue: next = its slot index.
    for (let s = 0; s < merged.stride; s++) if (!positions.some((p) => p.slot === s)) merged.next[s] = s;
    let layers = [...first.layers, merged];
    let floor = 0;
    for (const l of layers) floor = Math.max(floor, Math.min(...l.next));
    while (emittedBy(layers, floor)) floor++;
    layers = layers.filter((l) => Math.max(...l.next) > floor);
    this.layers = [{ stride: 1, next: [floor] }, ...layers];
    this.layersEnd = Math.max(floor, ...layers.map((l) => Math.max(...l.next)));
    let c = floor + ((slot - (floor % parallelism) + parallelism) % parallelism);
    while (c < this.layersEnd && emittedBy(this.layers, c)) c += parallelism;
    this.cur = c;
  }

  /** The next index this slot emits. */
  get current(): number {
    return this.cur;
  }

  /** Lowest index not yet emitted by any slot at restore time (0 on a fresh start). */
  get floor(): number {
    return (this.layers[0]?.next[0] as number | undefined) ?? 0;
  }

  advance(): void {
    let c = this.cur + this.parallelism;
    while (c < this.layersEnd && emittedBy(this.layers, c)) c += this.parallelism;
    this.cur = c;
  }

  snapshot(extra?: Record<string, unknown>): IndexPosition {
    return {
      kind: 'index',
      layers: this.layers,
      parallelism: this.parallelism,
      slot: this.slot,
      next: this.cur,
      ...(extra ? { extra } : {}),
    };
  }
}
