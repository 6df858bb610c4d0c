// A first-in first-out queue over an array and a moving head. A taken element's slot is cleared
// at once: what the consumer took must not stay reachable from the queue, or every batch that
// passed through a channel lives on until the array is compacted, the young generation copies
// it and the old generation keeps it (q5 at -p 1 held ~470 consumed batches, 435,000 records,
// that way: half of what it allocated survived a scavenge).
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(v: T): void {
    this.items.push(v);
  }

  /** The oldest element, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** The oldest element, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      // Drained: start over in place (the common case, and free).
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
}
