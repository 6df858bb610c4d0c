// Combines the watermarks of several input channels (upstream slots, source partitions) into
// one, after Flink's StatusWatermarkValve:
//  * each channel's watermark is monotonic (regressions are ignored);
//  * the output is the minimum over *active, aligned* channels and only ever rises;
//  * an idle channel leaves the minimum; when every channel is idle the valve flushes the
//    maximum channel watermark and reports idle itself;
//  * a channel that becomes active again rejoins the minimum only once its watermark has
//    caught up with the last output (so it cannot move the output backwards);
//  * a channel added later (a new source partition) starts active and aligned: it holds the
//    output until its own watermark passes it; a channel removed (its producer left) is forgotten.
import { MIN_WATERMARK } from '../core/watermark.ts';

interface ChannelState {
  wm: number;
  idle: boolean;
  aligned: boolean;
}

export interface ValveOutput {
  watermark(wm: number): void;
  idle(idle: boolean): void;
}

export class WatermarkValve {
  private readonly channels: ChannelState[] = [];
  private lastOutput = MIN_WATERMARK;
  private outputIdle = false;
  private readonly out: ValveOutput;

  constructor(channelCount: number, out: ValveOutput) {
    this.out = out;
    for (let i = 0; i < channelCount; i++) this.addChannel();
  }

  /** Adds an active channel (e.g. a newly assigned partition); returns its index. An idle valve becomes active. */
  addChannel(): number {
    this.channels.push({ wm: MIN_WATERMARK, idle: false, aligned: true });
    if (this.outputIdle) {
      this.outputIdle = false;
      this.out.idle(false);
    }
    return this.channels.length - 1;
  }

  /** Channel `ch` starts again as if just added (its input was replaced): active, aligned, at −∞. */
  resetChannel(ch: number): void {
    const c = this.channels[ch] as ChannelState;
    c.wm = MIN_WATERMARK;
    c.idle = false;
    c.aligned = true;
    if (this.outputIdle) {
      this.outputIdle = false;
      this.out.idle(false);
    }
  }

  /**
   * Drops channel `ch` (an input that ended and whose producer left: a drained slot of a live
   * rescale); later channels move down one. An ended channel is idle and holds nothing back, so
   * the output does not move; one that was not idle leaves the minimum as if it had gone idle.
   */
  removeChannel(ch: number): void {
    const [c] = this.channels.splice(ch, 1);
    if (c && !c.idle) this.advance();
  }

  get channelCount(): number {
    return this.channels.length;
  }

  get watermark(): number {
    return this.lastOutput;
  }

  get isIdle(): boolean {
    return this.outputIdle;
  }

  inputWatermark(ch: number, wm: number): void {
    const c = this.channels[ch] as ChannelState;
    if (c.idle) this.inputIdle(ch, false);
    if (wm <= c.wm) return;
    c.wm = wm;
    if (!c.aligned && wm >= this.lastOutput) c.aligned = true;
    this.advance();
  }

  inputIdle(ch: number, idle: boolean): void {
    const c = this.channels[ch] as ChannelState;
    if (c.idle === idle) return;
    c.idle = idle;
    if (idle) {
      c.aligned = false;
      if (this.channels.every((x) => x.idle)) {
        let max = MIN_WATERMARK;
        for (const x of this.channels) if (x.wm > max) max = x.wm;
        if (max > this.lastOutput) {
          this.lastOutput = max;
          this.out.watermark(max);
        }
        if (!this.outputIdle) {
          this.outputIdle = true;
          this.out.idle(true);
        }
      } else this.advance();
    } else {
      c.aligned = c.wm >= this.lastOutput;
      if (this.outputIdle) {
        this.outputIdle = false;
        this.out.idle(false);
      }
    }
  }

  private advance(): void {
    let min = Number.POSITIVE_INFINITY;
    let any = false;
    for (const c of this.channels) {
      if (!c.idle && c.aligned) {
        any = true;
        if (c.wm < min) min = c.wm;
      }
    }
    if (any && min > this.lastOutput) {
      this.lastOutput = min;
      this.out.watermark(min);
    }
  }
}
