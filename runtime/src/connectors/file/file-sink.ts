// file sink: JSON lines. `{slot}` in the path gives each slot its own file; otherwise the
// slots of this process share one file.
//
// Never erases output: the file is opened for append. At a checkpoint barrier (preCommit) every
// line written before it is in the file and synced before the checkpoint may complete. A file
// with one writer in the whole job (a `{slot}` path, or parallelism 1) also records its length
// as of the barrier in the checkpoint; a run restoring that checkpoint cuts the file back to it
// before writing, so the lines written after the checkpoint, which the restored job writes again,
// appear once: per-slot files are exactly-once across restores. The lines of several slots in one
// file have no such cut (a slot past the barrier writes while another has not reached it), so a
// shared file is only appended to: at-least-once (docs/runtime/graph.md, "Delivery").
import { truncateSync } from 'node:fs';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.ts';
import type { FileSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';
import { SharedWriter } from './shared-writer.ts';
import { jsonText } from '../../core/json-text.ts';

/** What a checkpoint records of a file with one writer: its length as of the barrier. */
export interface FileCommittable {
  /** The slot that wrote it, in the run that took the checkpoint. */
  readonly slot: number;
  readonly path: string;
  readonly bytes: number;
}

function asFileCommittable(c: unknown): FileCommittable | undefined {
  const f = c as Partial<FileCommittable> | null;
  return f && typeof f.path === 'string' && typeof f.slot === 'number' && typeof f.bytes === 'number'
    ? (f as FileCommittable)
    : undefined;
}

export class FileSink implements SinkWriter {
  private readonly spec: FileSinkSpec;
  private writer: SharedWriter | undefined;
  private name = '';
  private path = '';
  private slot = 0;
  /** This slot is the file's only writer in the job: its length at a barrier is a consistent cut. */
  private soleWriter = false;

  constructor(spec: FileSinkSpec) {
    this.spec = spec;
  }

  open(ctx: SinkWriterContext): Promise<void> {
    this.name = ctx.sinkName;
    this.slot = ctx.slot;
    this.path = this.pathOf(ctx.slot);
    this.soleWriter = this.spec.path.includes('{slot}') || ctx.parallelism === 1;
    // Restored committables come from the old slots mapped to this one (old slot s → s mod p): this slot's
    // own file, and after a scale-down the files of old slots that no longer run. Nothing writes those
    // files yet (the sinks open before any record flows), so cutting them here is safe.
    for (const c of ctx.restoredCommittables ?? []) {
      const f = asFileCommittable(c);
      // A file of another path (the graph's path changed since) is not this sink's to cut.
      if (f && this.pathOf(f.slot) === f.path) this.cutBack(f, ctx.logger);
    }
    this.writer = new SharedWriter(this.path, ctx.wake);
    return Promise.resolve();
  }

  private pathOf(slot: number): string {
    return this.spec.path.replaceAll('{slot}', String(slot));
  }

  /** Cuts `f.path` back to its checkpointed length: what follows is output after the checkpoint, written again now. */
  private cutBack(f: FileCommittable, logger: Logger): void {
    let size: number;
    try {
      size = SharedWriter.sizeOf(f.path);
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${this.name}": cannot read ${f.path}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (size < 0) return; // gone, or not a regular file: nothing to cut
    if (size < f.bytes) {
      logger.warn(
        { sink: this.name, path: f.path, bytes: size, checkpointed: f.bytes },
        'file sink: the file is shorter than the restored checkpoint recorded (changed outside the job?); appending to it',
      );
      return;
    }
    if (size === f.bytes) return;
    try {
      truncateSync(f.path, f.bytes);
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${this.name}": cannot cut ${f.path} back to its checkpointed ${f.bytes} bytes: ${(e as Error).message}`,
        { cause: e },
      );
    }
    logger.info(
      { sink: this.name, path: f.path, bytes: size, checkpointed: f.bytes },
      'file sink: cut the output after the restored checkpoint (the job writes it again)',
    );
  }

  get backpressured(): boolean {
    return this.writer?.backpressured ?? false;
  }

  write(b: Batch): void {
    let text = '';
    for (let i = 0; i < b.n; i++) text += jsonText(b.recs[i]) + '\n';
    this.writer?.write(text);
  }

  /** Resolves once every line before the barrier is in the file and synced; a sole writer's file records its length. */
  async preCommit(checkpointId: number): Promise<readonly unknown[]> {
    const w = this.writer;
    if (!w) return [];
    // Both read synchronously at the barrier: lines written after it (while this awaits) belong to the next checkpoint.
    const bytes = w.length;
    const record = this.soleWriter && w.regular && !w.shared;
    try {
      await w.flushed();
    } catch (e) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${this.name}": writing ${this.path} failed (checkpoint ${checkpointId} declined): ${(e as Error).message}`,
        { cause: e },
      );
    }
    const committable: FileCommittable = { slot: this.slot, path: this.path, bytes };
    return record ? [committable] : [];
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }
}
