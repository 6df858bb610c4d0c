// A task fed by channels (the consumer side of an exchange). Its input gate reads the
// channels round-robin and combines their watermarks and idle markers with a valve, so the
// head operator sees one monotonic watermark: the minimum over active upstream channels.
import type { Batch, MultiInputOperator, Output } from '../operators/types.ts';
import { BarrierAligner } from '../checkpoint/barrier-aligner.ts';
import { WatermarkValve } from '../time/watermark-valve.ts';
import type { BackpressureClock } from './backpressure-clock.ts';
import type { ChainCheckpoint } from './chain-checkpoint.ts';
import type { Channel } from './channel.ts';
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
  private readonly aligner: BarrierAligner | undefined;
  private readonly checkpoint: ChainCheckpoint | undefined;
  /** Optional instrumentation: records received by the head operator, time blocked by full outputs. */
  onRecordsIn: ((n: number) => void) | undefined;
  backpressure: BackpressureClock | undefined;

  constructor(name: string, inputs: GateInput[], head: Output, outputs: Writable[], checkpoint?: ChainCheckpoint) {
    this.name = name;
    this.inputs = inputs;
    this.head = head;
    this.multi =
      typeof (head as MultiInputOperator).pushInput === 'function' ? (head as MultiInputOperator) : undefined;
    this.outputs = outputs;
    this.ended = inputs.map(() => false);
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
      const ch = this.next;
      const inp = this.inputs[ch] as GateInput;
      const el = this.ended[ch] || this.aligner?.isBlocked(ch) ? undefined : inp.channel.poll();
      if (!el) {
        this.next = (ch + 1) % k;
        scanned++;
        continue;
      }
      scanned = 0;
      budget--;
      progress = true;
      switch (el.kind) {
        case 'batch':
          this.deliver(inp.input, el.batch);
          break;
        case 'watermark':
          this.valve.inputWatermark(ch, el.wm);
          break;
        case 'idle':
          this.valve.inputIdle(ch, el.idle);
          break;
        case 'barrier':
          this.aligner?.onBarrier(ch, el.barrier);
          break;
        case 'cancelBarrier':
          this.aligner?.onCancel(el.id);
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
      if (el.kind === 'batch') {
        // Re-check backpressure after every batch: one batch may fill a downstream channel.
        let blocked = false;
        for (const w of this.outputs) if (!w.writable) blocked = true;
        if (blocked) return true;
      }
    }
    return progress;
  }

  private deliver(input: number, b: Batch): void {
    this.onRecordsIn?.(b.n);
    if (this.multi) this.multi.pushInput(input, b);
    else this.head.push(b);
  }
}
