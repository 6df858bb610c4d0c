// A task fed by channels (the consumer side of an exchange). Its input gate reads the
// channels round-robin and combines their watermarks and idle markers with a valve, so the
// head operator sees one monotonic watermark: the minimum over active upstream channels.
//
// Among channels that have a record batch ready, the gate takes the one whose watermark is
// lowest (one element of look-ahead per channel): a record from a channel that runs ahead is
// judged only after the other channels' ready watermarks are in, so the operator's watermark
// lags its sources' (aligned) watermarks by no more than their drift, not by what the
// channels happen to buffer. Watermarks, idle markers, barriers and ends are taken at once.
//
// An input added while running (a slot joins a live rescale: addInput) is one more channel of
// the valve, the aligner and the end: it holds the watermark (never lowers it) until its
// producer's first watermark arrives, which is the producer's first element on it
// (HashExchange.addChannel); it counts toward barriers from the next one on
// (barrier-aligner.ts); the task ends only once it ended too. An input whose producer's slot
// drained is removed once it ended (removeInput), so a gate reads the same inputs after a cycle of
// rescales as before.
import type { MultiInputOperator, Output } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { TributaryError } from '../errors.ts';
import type { Channel, ChannelElement } from '../core/channel.ts';
import { BarrierAligner } from '../checkpoint/barrier-aligner.ts';
import { WatermarkValve } from '../time/watermark-valve.ts';
import type { BackpressureClock } from './backpressure-clock.ts';
import type { ChainCheckpoint } from './chain-checkpoint.ts';
import { PendingKeyGroups } from './pending-key-groups.ts';
import type { Task } from './slot.ts';
import type { Writable } from './source-task.ts';

export interface GateInput {
  channel: Channel;
  /** Logical input of the head operator. */
  input: number;
}

const ELEMENTS_PER_STEP = 32;

export class GateTask implements Task {
  readonly name: string;
  done = false;
  private readonly inputs: GateInput[];
  private readonly head: Output;
  private readonly multi: MultiInputOperator | undefined;
  private readonly outputs: Writable[];
  private readonly valve: WatermarkValve;
  private readonly ended: boolean[];
  private endedCount = 0;
  private next = 0;
  /** One polled, not yet taken element per channel, and each channel's last watermark. */
  private readonly pending: (ChannelElement | undefined)[];
  private readonly channelWm: number[];
  private readonly aligner: BarrierAligner | undefined;
  private readonly checkpoint: ChainCheckpoint | undefined;
  /** Key groups moving in whose state is not installed yet (live rescale); undefined otherwise. */
  private hold: PendingKeyGroups | undefined;
  /** Optional instrumentation: records received by the head operator, time blocked by full outputs. */
  onRecordsIn: ((n: number) => void) | undefined;
  backpressure: BackpressureClock | undefined;

  constructor(name: string, inputs: GateInput[], head: Output, outputs: Writable[], checkpoint?: ChainCheckpoint) {
    this.name = name;
    this.inputs = [...inputs];
    this.head = head;
    this.multi =
      typeof (head as MultiInputOperator).pushInput === 'function' ? (head as MultiInputOperator) : undefined;
    this.outputs = outputs;
    this.ended = inputs.map(() => false);
    this.pending = inputs.map(() => undefined);
    this.channelWm = inputs.map(() => MIN_WATERMARK);
    this.valve = new WatermarkValve(inputs.length, {
      watermark: (wm) => head.watermark(wm),
      idle: (i) => head.idle(i),
    });
    this.checkpoint = checkpoint;
    this.aligner = checkpoint
      ? new BarrierAligner(inputs.length, {
          aligned: (b, ms) => checkpoint.onBarrier(b, ms),
          aborted: (id, reason) => checkpoint.onAbort(id, `${name}: ${reason}`),
        })
      : undefined;
  }

  get watermark(): number {
    return this.valve.watermark;
  }

  step(): boolean {
    if (this.done) return false;
    for (const w of this.outputs) {
      if (!w.writable) {
        this.backpressure?.blocked();
        return false;
      }
    }
    this.backpressure?.running();
    let progress = false;
    const k = this.inputs.length;
    for (let budget = ELEMENTS_PER_STEP, scanned = 0; budget > 0 && scanned < k;) {
      let ch = this.next;
      const el = this.peek(ch);
      // While key groups wait for their state only batches are taken (pending-key-groups.ts).
      if (!el || (this.hold !== undefined && el.kind !== 'batch')) {
        this.next = (ch + 1) % k;
        scanned++;
        continue;
      }
      // While a checkpoint aligns, channels are read in turn: barriers behind ready batches come first.
      if (el.kind === 'batch' && k > 1 && this.aligner?.pendingCheckpoint === undefined && this.hold === undefined)
        ch = this.lowestReady(ch);
      const inp = this.inputs[ch] as GateInput;
      const taken = this.pending[ch] as ChannelElement;
      this.pending[ch] = undefined;
      scanned = 0;
      budget--;
      progress = true;
      switch (taken.kind) {
        case 'batch':
          this.deliver(inp.input, taken.batch);
          break;
        case 'watermark':
          if (taken.wm > (this.channelWm[ch] as number)) this.channelWm[ch] = taken.wm;
          this.valve.inputWatermark(ch, taken.wm);
          break;
        case 'idle':
          this.valve.inputIdle(ch, taken.idle);
          break;
        case 'barrier':
          this.aligner?.onBarrier(ch, taken.barrier);
          break;
        case 'cancelBarrier':
          this.aligner?.onCancel(taken.id);
          break;
        case 'end':
          this.ended[ch] = true;
          this.endedCount++;
          this.aligner?.onEndOfInput(ch);
          if (this.endedCount === k) {
            this.done = true;
            this.head.end();
            this.checkpoint?.onFinished();
            return true;
          }
          this.valve.inputIdle(ch, true);
          break;
      }
      if (taken.kind === 'batch') {
        // Re-check backpressure after every batch: one batch may fill a downstream channel.
        let blocked = false;
        for (const w of this.outputs) if (!w.writable) blocked = true;
        if (blocked) return true;
      }
    }
    return progress;
  }

  /**
   * Adds `channel` as the head operator's logical input `input` (see the header); returns its
   * channel index. The caller connects the channel's wake-ups to this task's slot.
   */
  addInput(channel: Channel, input: number): number {
    if (this.done)
      throw new TributaryError('TRIB_INVARIANT', `${this.name}: cannot add an input to a task that has finished`);
    const ch = this.inputs.length;
    this.inputs.push({ channel, input });
    this.ended.push(false);
    this.pending.push(undefined);
    this.channelWm.push(MIN_WATERMARK);
    this.valve.addChannel();
    this.aligner?.addInput();
    return ch;
  }

  /**
   * Drops the input read from `channel`, which ended (its producer's slot drained and left:
   * leave-local.ts): valve, aligner and end forget it, so inputs do not pile up over rescales.
   * Only an ended input goes: its end was taken, so it counts toward nothing any more.
   */
  removeInput(channel: Channel): void {
    const ch = this.inputs.findIndex((i) => i.channel === channel);
    if (ch < 0) return;
    if (!this.ended[ch])
      throw new TributaryError('TRIB_INVARIANT', `${this.name}: input ${ch} has not ended and cannot be removed`);
    for (const a of [this.inputs, this.ended, this.pending, this.channelWm] as unknown[][]) a.splice(ch, 1);
    this.endedCount--;
    this.valve.removeChannel(ch);
    this.aligner?.removeInput(ch);
    if (this.next > ch) this.next--;
    if (this.next >= this.inputs.length) this.next = 0;
  }

  /** The inputs this task reads (for tests and the drain's checks). */
  get inputCount(): number {
    return this.inputs.length;
  }

  /** One more channel this task writes into (added to one of its exchanges): it runs only while all are writable. */
  addOutput(w: Writable): void {
    this.outputs.push(w);
  }

  /** A channel this task no longer writes into (its consumer's slot drained: leave-local.ts). */
  removeOutput(w: Writable): void {
    const i = this.outputs.indexOf(w);
    if (i >= 0) this.outputs.splice(i, 1);
  }

  /** The channel's next element, polled once and kept until taken (undefined: none now, ended or blocked). */
  private peek(ch: number): ChannelElement | undefined {
    const held = this.pending[ch];
    if (held) return held;
    if (this.ended[ch] || this.aligner?.isBlocked(ch)) return undefined;
    const el = (this.inputs[ch] as GateInput).channel.poll();
    this.pending[ch] = el;
    return el;
  }

  /**
   * The channel to take from instead of `ch` (whose next element is a batch): one whose next
   * element is not a batch (taken at once), else the ready batch with the lowest channel watermark.
   */
  private lowestReady(ch: number): number {
    let best = ch;
    let bestWm = this.channelWm[ch] as number;
    for (let c = 0; c < this.inputs.length; c++) {
      if (c === ch) continue;
      const el = this.peek(c);
      if (!el) continue;
      if (el.kind !== 'batch') return c;
      const wm = this.channelWm[c] as number;
      if (wm < bestWm) {
        best = c;
        bestWm = wm;
      }
    }
    return best;
  }

  /**
   * Key groups `kgs` move in (a live rescale's step, at its barrier): their records wait until
   * `installed` says their state is here (pending-key-groups.ts).
   */
  holdKeyGroups(kgs: readonly number[], maxParallelism: number): void {
    if (kgs.length === 0) return;
    (this.hold ??= new PendingKeyGroups(maxParallelism)).add(kgs);
  }

  /** The state of key groups `kgs` is installed (in the mailbox): once none waits, held records go on in order. */
  installed(kgs: readonly number[]): void {
    const hold = this.hold;
    if (!hold) return;
    const released = hold.installed(kgs);
    if (hold.active) return;
    this.hold = undefined;
    for (const r of released) this.deliver(r.input, r.batch);
  }

  private deliver(input: number, batch: Batch): void {
    let b = batch;
    if (this.hold !== undefined) {
      const pass = this.hold.split(input, batch);
      if (pass === undefined) return;
      b = pass;
    }
    this.onRecordsIn?.(b.n);
    if (this.multi) this.multi.pushInput(input, b);
    else this.head.push(b);
  }
}
