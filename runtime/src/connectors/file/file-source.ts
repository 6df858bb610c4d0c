// file source: JSON lines (or raw lines with format string/bytes). Slot s reads lines
// s, s+p, ... of the file, which is read once at open (bounded source for local runs and
// tests, not for files larger than memory). A bad line is skipped and counted, or fails the
// job with `onError: fail`.
import { readFile } from 'node:fs/promises';
import { TributaryError } from '../../errors.ts';
import type { FileSourceSpec } from '../../graph/spec.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';
import { IndexCursor } from '../index-position.ts';
import { decodeValue } from '../record-format.ts';

export class FileSource implements SourceReader {
  private readonly spec: FileSourceSpec;
  private lines: string[] = [];
  private ctx!: SourceReaderContext;
  private partition = 0;
  private cursor = new IndexCursor(0, 1);

  constructor(spec: FileSourceSpec) {
    this.spec = spec;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    this.partition = ctx.addPartition();
    this.cursor = new IndexCursor(ctx.slot, ctx.parallelism, ctx.restoredPositions);
    try {
      const text = await readFile(this.spec.path, 'utf8');
      this.lines = text.split('\n');
      if (this.lines[this.lines.length - 1] === '') this.lines.pop();
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `source "${ctx.sourceName}": cannot read ${this.spec.path}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  poll(out: RawRecords, max: number): PollResult {
    const format = this.spec.format ?? 'json';
    let n = 0;
    while (n < max && this.cursor.current < this.lines.length) {
      const lineNo = this.cursor.current;
      const line = this.lines[lineNo] as string;
      this.cursor.advance();
      if (format === 'json' && line.trim() === '') continue;
      const r = decodeValue(format, line);
      if (r.ok) {
        out.add(r.rec, this.partition);
        n++;
      } else if (this.spec.onError === 'fail') {
        throw new TributaryError(
          'TRIB_CONNECTOR_FAILED',
          `source "${this.ctx.sourceName}": ${this.spec.path}:${lineNo + 1}: ${r.error}`,
        );
      } else {
        this.ctx.recordFailed(r.reason);
        this.ctx.logger.warn(
          { source: this.ctx.sourceName, line: lineNo + 1, reason: r.error },
          'skipped unreadable line',
        );
      }
    }
    if (this.cursor.current >= this.lines.length) {
      this.ctx.finishPartition(this.partition);
      return n > 0 ? 'data' : 'end';
    }
    return 'data';
  }

  snapshotPosition(): unknown {
    return this.cursor.snapshot();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
