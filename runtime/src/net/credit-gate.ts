// Sender-side credit accounting of one channel (Flink's credit-based flow control). The
// receiver grants credits, one per buffer (DATA frame) it has room for; the sender writes a
// sealed frame only while it holds a credit, so frames in flight never exceed what the
// receiver granted. Frames without credit wait here; the channel reports itself unwritable
// once `maxQueued` of them wait, which stops the producing task from pulling more input.
//
// Invariant: sent ≤ granted at every moment (checked by the unit tests).
export class CreditGate {
  private readonly queue: Buffer[] = [];
  private head = 0;
  private credit = 0;
  /** Total credits granted and frames sent over the channel's life. */
  granted = 0;
  sent = 0;
  /** Bytes of frames waiting for credit. */
  queuedBytes = 0;

  get available(): number {
    return this.credit;
  }

  /** Frames sealed but not yet sent for lack of credit. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  grant(n: number): void {
    if (!Number.isInteger(n) || n <= 0) return;
    this.credit += n;
    this.granted += n;
  }

  enqueue(frame: Buffer): void {
    this.queue.push(frame);
    this.queuedBytes += frame.length;
  }

  /** Writes queued frames while credit lasts; returns how many were written. */
  drain(write: (frame: Buffer) => void): number {
    let n = 0;
    while (this.credit > 0 && this.head < this.queue.length) {
      const f = this.queue[this.head] as Buffer;
      this.queue[this.head++] = EMPTY;
      this.credit--;
      this.sent++;
      this.queuedBytes -= f.length;
      n++;
      write(f);
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return n;
  }
}

const EMPTY = Buffer.alloc(0);
