// Kudu sink: each record is upserted into an existing table by its primary key, its fields
// naming the columns. Writes go out in batches of `batchSize`, one batch in flight at a time
// (so the upserts of one key keep their order); records arriving meanwhile wait and form the
// next batch. At a checkpoint barrier (preCommit) everything written before it is flushed
// before the checkpoint may complete, so after a failure the job's replay from that checkpoint
// rewrites the same rows: the table ends up as if each record had been written once (upserts
// by key are idempotent). Without checkpoints the sink is at-least-once with the same effect.
// A failed write fails the job (TRIB_KUDU_* codes) on the next write, barrier or close.
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../operators/types.ts';
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../api.ts';
import type { Row } from './client/cell-values.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { KuduTable } from './client/table-metadata.ts';

export class KuduSink implements SinkWriter {
  private readonly sinkName: string;
  private readonly spec: KuduSinkSpec;
  private readonly batchSize: number;
  private client: KuduClient | undefined;
  private table: KuduTable | undefined;
  private pending: Row[] = [];
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  /** Rows accepted by write() and rows Kudu acknowledged, in order: a barrier waits for its prefix only. */
  private accepted = 0;
  private acknowledged = 0;
  private wake: () => void = () => undefined;

  constructor(sinkName: string, spec: KuduSinkSpec) {
    this.sinkName = sinkName;
    this.spec = spec;
    this.batchSize = spec.batchSize ?? 1000;
  }

  async open(ctx: SinkWriterContext): Promise<void> {
    this.wake = () => ctx.wake();
    const masters = typeof this.spec.masters === 'string' ? this.spec.masters.split(',') : this.spec.masters;
    this.client = new KuduClient({
      masters: masters.map((m) => m.trim()),
      operationTimeoutMs: parseDuration(this.spec.timeout) ?? 30_000,
    });
    // The table must exist: its schema is what every record is checked against.
    this.table = await this.client.openTable(this.spec.table);
    ctx.logger.info({ sink: this.sinkName, table: this.spec.table }, 'kudu sink opened');
  }

  /** Waits while several batches are queued behind the one in flight. */
  get backpressured(): boolean {
    return this.inFlight !== undefined && this.pending.length >= 4 * this.batchSize;
  }

  write(b: Batch): void {
    this.throwIfFailed();
    for (let i = 0; i < b.n; i++) this.pending.push(b.recs[i] as Row);
    this.accepted += b.n;
    this.pump();
  }

  /**
   * Resolves once every record written before this barrier is in Kudu (records written after it
   * keep flowing and do not hold it up); no committables: upserts by key need no commit phase.
   */
  async preCommit(): Promise<readonly unknown[]> {
    await this.flushUpTo(this.accepted);
    return [];
  }

  async close(outcome?: CloseOutcome): Promise<void> {
    try {
      // A failed or stopped job's pending rows are replayed from its checkpoint; only a finished
      // job's must be written now.
      if (outcome === undefined || outcome === 'finished') await this.flushUpTo(this.accepted);
      else await this.inFlight?.catch(() => undefined);
    } finally {
      await this.client?.close();
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Starts the next batch when none is in flight. */
  private pump(): void {
    if (this.inFlight || this.pending.length === 0 || !this.client || !this.table) return;
    const rows = this.pending.splice(0, this.batchSize);
    const client = this.client;
    const table = this.table;
    this.inFlight = client
      .upsert(table, rows)
      .then(() => {
        this.acknowledged += rows.length;
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.failure === undefined) this.pump();
        this.wake();
      });
  }

  private async flushUpTo(target: number): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (this.acknowledged >= target) return;
      if (!this.inFlight) this.pump();
      // pump() starts a batch whenever rows are pending, and rows up to `target` are pending or in flight.
      await this.inFlight;
    }
  }
}
