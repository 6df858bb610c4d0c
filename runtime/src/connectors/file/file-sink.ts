// file sink: JSON lines. `{slot}` in the path gives each slot its own file; otherwise the
// slots of this process share one file.
import type { FileSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../operators/types.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';
import { SharedWriter } from './shared-writer.ts';

export class FileSink implements SinkWriter {
  private readonly spec: FileSinkSpec;
  private writer: SharedWriter | undefined;

  constructor(spec: FileSinkSpec) {
    this.spec = spec;
  }

  open(ctx: SinkWriterContext): Promise<void> {
    this.writer = new SharedWriter(this.spec.path.replaceAll('{slot}', String(ctx.slot)), ctx.wake);
    return Promise.resolve();
  }

  get backpressured(): boolean {
    return this.writer?.backpressured ?? false;
  }

  write(b: Batch): void {
    let text = '';
    for (let i = 0; i < b.n; i++) text += JSON.stringify(b.recs[i]) + '\n';
    this.writer?.write(text);
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }
}
