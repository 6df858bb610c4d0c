// mapAsync: a function of the job's code that returns a promise per record (an enrichment call
// to a service), with up to `capacity` calls in flight per slot. Flink's Async I/O in its ordered
// mode (AsyncDataStream.orderedWait): results leave in the order their records came.
// Invariants (those of AsyncLookupOperator, async-lookup.ts):
// * Order: records, watermarks, idle markers and the end leave in the order they came; a
//   result that is in waits for every record ahead of it, a watermark for every record before it.
// * At most `capacity` calls are in flight. A batch larger than what is free waits in the queue
//   and its records are called as earlier calls settle. While `capacity` records or more are
//   queued (in flight, waiting for a call, or done and waiting for their turn) the operator is
//   not `writable`, so its task takes no more input.
// * Checkpoints: a barrier is held by the chain (`whenDrained`) until the queue is empty, so the
//   snapshot and the barrier come after every record read before it; meanwhile the operator is
//   not writable, so nothing read after the barrier overtakes it. Nothing in flight is ever part
//   of a snapshot: no state of its own.
// * The operator is also a slot task, done once its end has left: the slot's loop (and the job)
//   does not end with calls in flight.
// * Results are handled from the slot's mailbox (Mailbox.post), never from a promise callback:
//   records, watermarks and control never interleave inside the chain.
// * A call that throws, rejects or does not settle within `timeoutMs` is a function error of its
//   record (`onError`: throws TRIB_FUNCTION_FAILED out of the mailbox, failing the slot, or counts
//   and skips it). A timed-out call frees its place at once; what it settles to later is ignored.
// * Busy time: `clock` is told the number in flight on every change (CapacityClock: the
//   time-weighted share of the capacity in use).
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import { CapacityClock } from '../core/load-meter.ts';
import type { Mailbox } from './async-lookup.ts';
import { BatchBuilder, type Output } from './types.ts';

export type AsyncMapFn = (value: unknown) => Promise<unknown>;

export interface AsyncMapOptions {
  /** Calls in flight at most (≥ 1). */
  capacity: number;
  /** A call that has not settled this long after it started fails its record. */
  timeoutMs: number;
  /** A record whose call failed: may throw (the job fails) or count and skip it. */
  onError: (err: unknown, record: unknown) => void;
}

interface Call {
  kind: 'record';
  rec: unknown;
  ts: number;
  state: 'waiting' | 'running' | 'ok' | 'failed';
  value?: unknown;
  error?: unknown;
  timer?: NodeJS.Timeout;
}

type Queued = Call | { kind: 'watermark'; wm: number } | { kind: 'idle'; idle: boolean } | { kind: 'end' };

export class AsyncMapOperator implements Output {
  readonly name: string;
  /** Busy time of this instance: register `clock.busyMs` in the slot's LoadMeter. */
  readonly clock: CapacityClock;
  private readonly fn: AsyncMapFn;
  private readonly o: AsyncMapOptions;
  private readonly out: Output;
  private readonly mailbox: Mailbox;
  private readonly buf: BatchBuilder;
  private readonly queue: Queued[] = [];
  /** Records in the queue (whatever their state); the capacity bounds it for `writable`. */
  private records = 0;
  private inFlight = 0;
  /** Index in `queue` from which records may still be waiting for a call (all before it started). */
  private nextToStart = 0;
  private ended = false;
  private closed = false;
  private drained: (() => void)[] = [];

  constructor(name: string, fn: AsyncMapFn, o: AsyncMapOptions, out: Output, mailbox: Mailbox) {
    if (!Number.isInteger(o.capacity) || o.capacity < 1)
      throw new TributaryError('TRIB_INVARIANT', `step "${name}": capacity must be an integer ≥ 1, got ${o.capacity}`);
    this.name = name;
    this.fn = fn;
    this.o = o;
    this.out = out;
    this.mailbox = mailbox;
    this.buf = new BatchBuilder(out);
    this.clock = new CapacityClock(o.capacity);
  }

  /**
   * Writable (for the task): false while `capacity` records or more are queued, and while a
   * barrier waits for the queue to drain (input read now would be emitted ahead of the barrier
   * but lie after the source position it stores: read again after a restore).
   */
  get writable(): boolean {
    return this.records < this.o.capacity && this.drained.length === 0;
  }

  /** Task: done once the end went downstream with nothing queued. */
  get done(): boolean {
    return this.closed || (this.ended && this.queue.length === 0);
  }

  step(): boolean {
    return false;
  }

  get busy(): boolean {
    return this.queue.length > 0;
  }

  /** Calls started and not yet settled (or timed out). */
  get calls(): number {
    return this.inFlight;
  }

  /** Runs `cb` now when nothing is queued, else from the mailbox right after the queue empties. */
  whenDrained(cb: () => void): void {
    if (this.queue.length === 0) cb();
    else this.drained.push(cb);
  }

  /** The job is over (failed or cancelled): results still to come are dropped, timers cleared. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queue) if (q.kind === 'record' && q.timer) clearTimeout(q.timer);
    this.inFlight = 0;
    this.clock.change(0);
  }

  push(b: Batch): void {
    if (b.n === 0) return;
    for (let i = 0; i < b.n; i++)
      this.queue.push({ kind: 'record', rec: b.recs[i], ts: b.ts[i] as number, state: 'waiting' });
    this.records += b.n;
    this.startCalls();
    // A call that threw at once has failed already: it may be at the head.
    this.pump();
  }

  watermark(wm: number): void {
    if (this.queue.length === 0) this.out.watermark(wm);
    else this.queue.push({ kind: 'watermark', wm });
  }

  idle(idle: boolean): void {
    if (this.queue.length === 0) this.out.idle(idle);
    else this.queue.push({ kind: 'idle', idle });
  }

  end(): void {
    if (this.queue.length === 0) {
      this.ended = true;
      this.out.end();
    } else this.queue.push({ kind: 'end' });
  }

  /** Starts the calls of waiting records, in queue order, while there is capacity. */
  private startCalls(): void {
    const started = this.inFlight;
    while (this.inFlight < this.o.capacity && this.nextToStart < this.queue.length && !this.closed) {
      const q = this.queue[this.nextToStart++] as Queued;
      if (q.kind === 'record' && q.state === 'waiting') this.call(q);
    }
    if (this.inFlight !== started) this.clock.change(this.inFlight);
  }

  private call(c: Call): void {
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(this.fn(c.rec));
    } catch (e) {
      c.state = 'failed';
      c.error = e;
      return;
    }
    c.state = 'running';
    this.inFlight++;
    c.timer = setTimeout(() => this.mailbox.post(() => this.settle(c, 'failed', this.timedOut())), this.o.timeoutMs);
    p.then(
      (v) => this.mailbox.post(() => this.settle(c, 'ok', v)),
      (e: unknown) => this.mailbox.post(() => this.settle(c, 'failed', e)),
    );
  }

  /** From the mailbox: the call of `c` settled (or timed out); the first outcome counts. */
  private settle(c: Call, state: 'ok' | 'failed', v: unknown): void {
    if (this.closed || c.state !== 'running') return;
    clearTimeout(c.timer);
    c.timer = undefined;
    c.state = state;
    if (state === 'ok') c.value = v;
    else c.error = v;
    this.inFlight--;
    this.clock.change(this.inFlight);
    this.startCalls();
    this.pump();
  }

  private timedOut(): TributaryError {
    return new TributaryError(
      'TRIB_FUNCTION_TIMEOUT',
      `step "${this.name}": its promise did not settle within the timeout (${this.o.timeoutMs} ms)`,
    );
  }

  /** Sends on everything at the head of the queue that is ready, in order. */
  private pump(): void {
    let taken = 0;
    try {
      while (!this.closed) {
        const head = this.queue[taken];
        if (!head) break;
        if (head.kind === 'record') {
          if (head.state === 'waiting' || head.state === 'running') break;
          taken++;
          this.records--;
          if (head.state === 'ok') this.buf.add(head.value as Rec, head.ts);
          else this.o.onError(head.error, head.rec);
          continue;
        }
        taken++;
        this.buf.flush();
        if (head.kind === 'watermark') this.out.watermark(head.wm);
        else if (head.kind === 'idle') this.out.idle(head.idle);
        else {
          this.ended = true;
          this.out.end();
        }
      }
      this.buf.flush();
    } finally {
      // Out of the queue even when onError threw: what left is not sent again.
      this.queue.splice(0, taken);
      this.nextToStart = Math.max(0, this.nextToStart - taken);
    }
    if (this.queue.length === 0 && this.drained.length > 0) {
      const cbs = this.drained;
      this.drained = [];
      for (const cb of cbs) cb();
    }
  }
}
