// The live progress line on a TTY (stderr): records in/out, input rate, sink watermark.
import type { JobStatus } from '../exec/job-status.ts';
import { formatWatermark } from '../core/watermark.ts';

const fmt = new Intl.NumberFormat('en-US');

export class ProgressLine {
  private readonly stream: NodeJS.WriteStream;
  private timer: NodeJS.Timeout | undefined;
  private lastIn = 0;
  private lastAt = Date.now();
  private readonly startedAt = Date.now();
  private shown = false;

  constructor(stream: NodeJS.WriteStream) {
    this.stream = stream;
  }

  /** The line of a run on stderr when it is a terminal, unless --no-progress (`enabled` false). */
  static onTerminal(enabled: boolean | undefined): ProgressLine | undefined {
    return process.stderr.isTTY && enabled !== false ? new ProgressLine(process.stderr) : undefined;
  }

  start(status: () => JobStatus): void {
    this.timer = setInterval(() => this.render(status()), 500);
    this.timer.unref();
  }

  render(s: JobStatus): void {
    const now = Date.now();
    // A run on threads restarts its counts with each attempt: no negative rate across a restart.
    const rate = (Math.max(0, s.recordsIn - this.lastIn) * 1000) / Math.max(1, now - this.lastAt);
    this.lastIn = s.recordsIn;
    this.lastAt = now;
    const secs = Math.floor((now - this.startedAt) / 1000);
    const line = `▶ ${secs}s  in ${fmt.format(s.recordsIn)} (${fmt.format(Math.round(rate))}/s)  out ${fmt.format(s.recordsOut)}  watermark ${formatWatermark(s.watermark)}${s.watermarkLagMs !== undefined ? ` (lag ${(s.watermarkLagMs / 1000).toFixed(1)}s)` : ''}  p=${s.parallelism}`;
    this.stream.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  /** Clears the line so other output starts on a clean line. */
  clear(): void {
    if (this.shown) {
      this.stream.write('\r\x1b[K');
      this.shown = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}
