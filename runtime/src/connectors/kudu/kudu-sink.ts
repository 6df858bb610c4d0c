// Kudu sink: each record is upserted into an existing table by its primary key, its fields
// naming the columns. Writes go out in batches of `batchSize`, one batch in flight at a time
// (so the upserts of one key keep their order); records arriving meanwhile wait and form the
// next batch. At a checkpoint barrier (preCommit) everything written before it is flushed
// before the checkpoint may complete, so after a failure the job's replay from that checkpoint
// rewrites the same rows: the table ends up as if each record had been written once (upserts
// by key are idempotent). Without checkpoints the sink is at-least-once with the same effect.
// A failed write fails the job (TRIB_KUDU_* codes) on the next write, barrier or close. Kudu
// unavailable (masters down, a tablet server that refuses or does not answer) is retried within
// `timeout` per operation, with a warning while it lasts and the outage reported to the slot
// (kudu-outage.ts); past the bound the error names the sink, its masters and the server.
// With `deleteWhen`, a record the expression holds for deletes its key's row instead (as a
// delete-ignore: deleting an absent row, e.g. on replay, is not an error); deletes and upserts
// share the batches, so the operations of one key stay in order.
import { TributaryError } from '../../errors.ts';
import { compileExpr, type CompiledExpr } from '../../expr/cel.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import type { Rec } from '../../core/record.ts';
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../api.ts';
import type { Row } from './client/cell-values.ts';
import type { KuduClient } from './client/kudu-client.ts';
import { clientTls } from './kudu-tls-config.ts';
import { loadKuduClient } from './client/load-client.ts';
import type { Operation } from './client/row-operations.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { openOrCreateTable } from './kudu-table-setup.ts';
import { KuduOutage } from './kudu-outage.ts';

export class KuduSink implements SinkWriter {
  private readonly sinkName: string;
  private readonly spec: KuduSinkSpec;
  private readonly batchSize: number;
  private client: KuduClient | undefined;
  private table: KuduTable | undefined;
  private readonly deleteWhen: CompiledExpr | undefined;
  private pending: Operation[] = [];
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  /** Rows accepted by write() and rows Kudu acknowledged, in order: a barrier waits for its prefix only. */
  private accepted = 0;
  private acknowledged = 0;
  private wake: () => void = () => undefined;
  private outage: KuduOutage | undefined;

  constructor(sinkName: string, spec: KuduSinkSpec) {
    this.sinkName = sinkName;
    this.spec = spec;
    this.batchSize = spec.batchSize ?? 1000;
    this.deleteWhen =
      spec.deleteWhen === undefined
        ? undefined
        : compileExpr(spec.deleteWhen, undefined, undefined, `${sinkName}/deleteWhen`);
  }

  async open(ctx: SinkWriterContext): Promise<void> {
    this.wake = () => ctx.wake();
    const masters = (typeof this.spec.masters === 'string' ? this.spec.masters.split(',') : this.spec.masters).map(
      (m) => m.trim(),
    );
    const timeoutMs = parseDuration(this.spec.timeout) ?? 30_000;
    const outage = new KuduOutage({
      role: 'sink',
      name: this.sinkName,
      table: this.spec.table,
      masters: masters.join(','),
      timeoutMs,
      timeoutText: this.spec.timeout ?? '30s',
      logger: ctx.logger,
      ...(ctx.reportOutage ? { report: ctx.reportOutage } : {}),
    });
    this.outage = outage;
    this.client = new (await loadKuduClient())({
      masters,
      operationTimeoutMs: timeoutMs,
      onRetry: (what, err, startedAt) => outage.retry(what, err, startedAt),
      ...clientTls(this.spec.tls),
    });
    // The table's schema is what every record is checked against: it exists, or the spec creates it.
    try {
      this.table = await openOrCreateTable(
        this.client,
        this.spec.table,
        this.spec.createTable,
        `sink "${this.sinkName}".kudu`,
      );
    } catch (err) {
      throw outage.failed(`opening table "${this.spec.table}"`, err);
    }
    outage.ok();
    ctx.logger.info({ sink: this.sinkName, table: this.spec.table }, 'kudu sink opened');
  }

  /** Waits while several batches are queued behind the one in flight. */
  get backpressured(): boolean {
    return this.inFlight !== undefined && this.pending.length >= 4 * this.batchSize;
  }

  write(b: Batch): void {
    this.throwIfFailed();
    for (let i = 0; i < b.n; i++) this.pending.push(this.operationOf(b.recs[i]!));
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
      // A finished or stopped job's rows are written now: they are its last word (a draining stop
      // fired its windows into them), and upserts by key stay correct if the job is restored from
      // an earlier checkpoint later (the replay writes the same keys again, in order). A failed
      // job's pending rows are replayed from its checkpoint.
      if (outcome !== 'failed') await this.flushUpTo(this.accepted);
      else await this.inFlight?.catch(() => undefined);
    } finally {
      await this.client?.close();
    }
  }

  private operationOf(rec: Rec): Operation {
    if (!this.deleteWhen || !this.table) return { kind: 'upsert', row: rec as Row };
    let del: unknown;
    try {
      del = this.deleteWhen.evaluate(rec);
    } catch (err) {
      throw new TributaryError(
        'TRIB_KUDU_SCHEMA',
        `sink "${this.sinkName}": deleteWhen failed on a record for table "${this.table.name}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (typeof del !== 'boolean') {
      throw new TributaryError(
        'TRIB_KUDU_SCHEMA',
        `sink "${this.sinkName}": deleteWhen must give a bool, got ${typeof del} for a record of table "${this.table.name}"`,
      );
    }
    if (!del) return { kind: 'upsert', row: rec as Row };
    // A delete names the key only: the record's other fields (the marker among them) need not be columns.
    const key: Record<string, unknown> = {};
    for (const c of this.table.schema.columns.slice(0, this.table.schema.keyCount)) key[c.name] = rec[c.name];
    return { kind: 'deleteIgnore', row: key as Row };
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Starts the next batch when none is in flight. */
  private pump(): void {
    if (this.inFlight || this.pending.length === 0 || !this.client || !this.table) return;
    const ops = this.pending.splice(0, this.batchSize);
    const client = this.client;
    const table = this.table;
    this.inFlight = client
      .write(table, ops)
      .then(() => {
        this.acknowledged += ops.length;
        this.outage?.ok();
      })
      .catch((err: unknown) => {
        this.failure ??= this.outage ? this.outage.failed(`writing ${ops.length} rows`, err) : err;
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
