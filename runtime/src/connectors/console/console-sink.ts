// console sink: one JSON line per record on stdout (optionally prefixed with the sink name).
import type { ConsoleSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../operators/types.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';

export interface TextOut {
  write(text: string): boolean;
  once(event: 'drain', cb: () => void): unknown;
}

export class ConsoleSink implements SinkWriter {
  private readonly prefix: string;
  private readonly out: TextOut;
  private blocked = false;
  private wake: () => void = () => {};
  /** Called before each write (the CLI clears its progress line). */
  static beforeWrite: (() => void) | undefined;

  constructor(spec: ConsoleSinkSpec | null | undefined, name: string, out: TextOut = process.stdout) {
    this.prefix = spec?.prefix ? `${name}> ` : '';
    this.out = out;
  }

  open(ctx: SinkWriterContext): Promise<void> {
    this.wake = ctx.wake;
    return Promise.resolve();
  }

  get backpressured(): boolean {
    return this.blocked;
  }

  write(b: Batch): void {
    let text = '';
    for (let i = 0; i < b.n; i++) text += this.prefix + JSON.stringify(b.recs[i]) + '\n';
    ConsoleSink.beforeWrite?.();
    if (!this.out.write(text) && !this.blocked) {
      this.blocked = true;
      this.out.once('drain', () => {
        this.blocked = false;
        this.wake();
      });
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
