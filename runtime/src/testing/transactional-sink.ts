// A two-phase-commit sink for tests: models an external system with transactions (like
// Kafka) in memory. Records written between two barriers go into one transaction; the
// barrier prepares it (preCommit returns its id); completion commits it; a restore commits
// the restored committables (idempotent). A crash leaves prepared transactions behind,
// invisible to readers, exactly as open Kafka transactions are to read_committed consumers.
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../connectors/api.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';

export class TransactionStore {
  readonly prepared = new Map<string, Rec[]>();
  readonly committed: Rec[] = [];
  private readonly done = new Set<string>();
  private seq = 0;

  newTxnId(prefix: string): string {
    return `${prefix}-${++this.seq}`;
  }

  commit(txn: string): void {
    if (this.done.has(txn)) return;
    const recs = this.prepared.get(txn);
    if (!recs) return;
    this.done.add(txn);
    this.prepared.delete(txn);
    this.committed.push(...recs);
  }
}

export class TransactionalCollectingSink implements SinkWriter {
  private readonly store: TransactionStore;
  private ctx!: SinkWriterContext;
  private current: Rec[] = [];
  private pending: { checkpointId: number; txn: string }[] = [];
  readonly backpressured = false;

  constructor(store: TransactionStore) {
    this.store = store;
  }

  open(ctx: SinkWriterContext): Promise<void> {
    this.ctx = ctx;
    for (const c of ctx.restoredCommittables ?? []) this.store.commit((c as { txn: string }).txn);
    return Promise.resolve();
  }

  write(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.current.push(b.recs[i] as Rec);
  }

  preCommit(checkpointId: number): Promise<readonly unknown[]> {
    if (this.current.length > 0) {
      const txn = this.store.newTxnId(`${this.ctx.sinkName}-${this.ctx.slot}`);
      this.store.prepared.set(txn, this.current);
      this.current = [];
      this.pending.push({ checkpointId, txn });
    }
    return Promise.resolve(this.pending.map((p) => ({ txn: p.txn })));
  }

  notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      if (p.checkpointId <= checkpointId) this.store.commit(p.txn);
      else keep.push(p);
    }
    this.pending = keep;
    return Promise.resolve();
  }

  close(outcome: CloseOutcome = 'finished'): Promise<void> {
    if (outcome === 'finished') {
      // End of input: nothing will be replayed, commit the rest.
      for (const p of this.pending) this.store.commit(p.txn);
      const txn = this.store.newTxnId(`${this.ctx.sinkName}-${this.ctx.slot}-final`);
      this.store.prepared.set(txn, this.current);
      this.store.commit(txn);
    }
    this.current = [];
    this.pending = [];
    return Promise.resolve();
  }
}
