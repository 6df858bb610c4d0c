// console sink: one JSON line per record on stdout (optionally prefixed with the sink name).
// At a checkpoint barrier (preCommit) everything written before it has been handed to the OS
// (stdout drained) before the checkpoint may complete: a restart from that checkpoint writes
// again only what followed it (at-least-once), never misses what preceded it.
import { TributaryError } from '../../errors.ts';
import type { ConsoleSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';
import { jsonText } from '../../core/json-text.ts';

export interface TextOut {
  /** Node's Writable contract: `cb` runs once this and every earlier write left the process (or failed). */
  write(text: string, cb?: (err?: Error | null) => void): boolean;
  once(event: 'drain', cb: () => void): unknown;
}

export class ConsoleSink implements SinkWriter {
  private readonly prefix: string;
  private readonly out: TextOut;
  private readonly name: string;
  private blocked = false;
  private wake: () => void = () => {};
  /** Called before each write (the CLI clears its progress line). */
  static beforeWrite: (() => void) | undefined;

  constructor(spec: ConsoleSinkSpec | null | undefined, name: string, out: TextOut = process.stdout) {
    this.prefix = spec?.prefix ? `${name}> ` : '';
    this.out = out;
    this.name = name;
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
    for (let i = 0; i < b.n; i++) text += this.prefix + jsonText(b.recs[i]) + '\n';
    ConsoleSink.beforeWrite?.();
    if (!this.out.write(text) && !this.blocked) {
      this.blocked = true;
      this.out.once('drain', () => {
        this.blocked = false;
        this.wake();
      });
    }
  }

  /** Resolves once every line written before the barrier left the process (an empty write calls back after them). */
  preCommit(checkpointId: number): Promise<readonly unknown[]> {
    return new Promise((resolve, reject) => {
      this.out.write('', (err) => {
        if (!err) resolve([]);
        else
          reject(
            new TributaryError(
              'TRIB_CONNECTOR_FAILED',
              `sink "${this.name}": writing to stdout failed (checkpoint ${checkpointId} declined): ${err.message}`,
              { cause: err },
            ),
          );
      });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
