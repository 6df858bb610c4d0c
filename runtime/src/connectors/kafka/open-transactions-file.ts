// The open-transactions file of one slot of an exactly-once Kafka sink:
//     <stateDir>/kafka-txn/<prefix>/open-<slot>.json = {slot, transactions: [{transactionalId, records, bytes}]}
// the transactions the slot has open (begun, not committed or aborted) and what each holds,
// rewritten at most once per WRITE_INTERVAL_MS while they change. Only metrics read it: a
// recovery that fences an open transaction of a run that died learns how many bytes the
// abort threw away, as of the last write (a transaction begun less than an interval before
// the crash counts with what was written by then, possibly 0). It is neither fsynced nor part
// of a checkpoint: a missing, stale or torn file costs an aborted-bytes count, never output.
import type { Logger } from 'pino';
import { stateStoreFor } from '../../checkpoint/storage/state-store-for.ts';
import { childOf } from '../../checkpoint/storage/state-uri.ts';

export const WRITE_INTERVAL_MS = 1000;
/** How long close waits for the last write of the file (it only feeds metrics). */
export const END_WAIT_MS = 5000;

export interface OpenTxn {
  transactionalId: string;
  records: number;
  bytes: number;
}

function fileOf(dir: string, slot: number): string {
  return childOf(dir, `open-${slot}.json`);
}

/** The transactions slot `slot` last recorded as open, by transactional id (empty when there is no readable file). */
export async function readOpenTransactions(dir: string, slot: number): Promise<Map<string, OpenTxn>> {
  const out = new Map<string, OpenTxn>();
  try {
    const bytes = await stateStoreFor(dir).read(fileOf(dir, slot));
    const doc = (bytes ? JSON.parse(new TextDecoder().decode(bytes)) : {}) as { transactions?: OpenTxn[] };
    for (const t of doc.transactions ?? [])
      if (typeof t.transactionalId === 'string' && typeof t.bytes === 'number') out.set(t.transactionalId, t);
  } catch {
    // none or unreadable: nothing known (see the header)
  }
  return out;
}

export async function removeOpenTransactions(dir: string, slot: number): Promise<void> {
  await stateStoreFor(dir).remove(fileOf(dir, slot));
}

/**
 * Writer of this slot's file: `changed()` schedules a write of `snapshot()`; writes never overlap and never fail the
 * job.
 */
export class OpenTransactionsFile {
  private readonly path: string;
  private readonly snapshot: () => OpenTxn[];
  private readonly logger: Logger;
  private readonly slot: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(dir: string, slot: number, snapshot: () => OpenTxn[], logger: Logger) {
    this.path = fileOf(dir, slot);
    this.slot = slot;
    this.snapshot = snapshot;
    this.logger = logger;
  }

  changed(): void {
    if (this.ended || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.enqueue(() => this.write());
    }, WRITE_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Last write: the current snapshot (a failed job leaves its transactions open for the recovery), or removal (nothing
   * open).
   */
  async end(keep: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.ended = true;
    this.enqueue(() => (keep ? this.write() : stateStoreFor(this.path).remove(this.path)));
    // Metrics only: state storage that does not answer (S3 frozen) must not hold the sink's close, and with it a
    // failing job's end and restart.
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.writing.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), END_WAIT_MS))),
    ]);
    if (timer) clearTimeout(timer);
    if (!done)
      this.logger.debug(
        { file: this.path, ms: END_WAIT_MS },
        'open-transactions file write unanswered at close: not waiting',
      );
  }

  private enqueue(op: () => Promise<void>): void {
    this.writing = this.writing.then(op).catch((e: unknown) => {
      this.logger.debug(
        { err: (e as Error).message, file: this.path },
        'open-transactions file not written (metrics only)',
      );
    });
  }

  private async write(): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify({ slot: this.slot, transactions: this.snapshot() }));
    await stateStoreFor(this.path).write(this.path, body);
  }
}
