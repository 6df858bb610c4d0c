// druid source: runs a Druid SQL query once at open and emits its rows, then ends (a bounded
// source). Slot 0 reads every row; other slots end at once, so a query without ORDER BY is
// still read exactly once (slots never split a result whose order they cannot rely on).
// Position = rows emitted; a restored job re-runs the query and skips that many rows, which
// is exact when the query is deterministic (ORDER BY, data not changing underneath).
import { parseDuration } from '../../graph/duration.ts';
import type { DruidSourceSpec } from '../../graph/spec.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';
import { runDruidSql } from './druid-sql.ts';

interface DruidPosition {
  kind: 'druid-rows';
  emitted: number;
}

export class DruidSqlSource implements SourceReader {
  private readonly name: string;
  private readonly spec: DruidSourceSpec;
  private ctx!: SourceReaderContext;
  private partition = 0;
  private rows: Record<string, unknown>[] = [];
  private next = 0;

  constructor(name: string, spec: DruidSourceSpec) {
    this.name = name;
    this.spec = spec;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    this.partition = ctx.addPartition();
    if (ctx.slot !== 0) return;
    for (const p of ctx.restoredPositions ?? []) {
      const d = p as DruidPosition | undefined;
      if (d?.kind === 'druid-rows') this.next = Math.max(this.next, d.emitted);
    }
    const t0 = Date.now();
    this.rows = await runDruidSql({
      url: this.spec.url,
      query: this.spec.query,
      timeoutMs: parseDuration(this.spec.timeout ?? '30s') ?? 30_000,
      who: `source "${this.name}"`,
    });
    ctx.logger.info(
      { source: this.name, rows: this.rows.length, skipped: this.next, ms: Date.now() - t0 },
      'druid query done',
    );
  }

  poll(out: RawRecords, max: number): PollResult {
    let n = 0;
    while (n < max && this.next < this.rows.length) {
      out.add(this.rows[this.next] as Record<string, unknown>, this.partition);
      this.next++;
      n++;
    }
    if (this.next >= this.rows.length) {
      this.ctx.finishPartition(this.partition);
      return n > 0 ? 'data' : 'end';
    }
    return 'data';
  }

  snapshotPosition(): unknown {
    return { kind: 'druid-rows', emitted: this.ctx.slot === 0 ? this.next : 0 } satisfies DruidPosition;
  }

  close(): Promise<void> {
    this.rows = [];
    return Promise.resolve();
  }
}
