// Fix for a kafkajs 2.2.4 bug that makes read_committed consumers return records of ABORTED
// transactions: consumer/filterAbortedMessages.js walks the fetch response's aborted
// transactions assuming they are sorted by first offset and registers at most one per
// record, but brokers list them in index order (by the offset of their abort marker), so
// with several aborted transactions in one fetch (e.g. after an exactly-once sink was
// fenced on recovery) some are never recognised and their records pass as committed.
// This module installs a corrected filter (sorted, every transaction that started at or
// before the record) into the CommonJS module cache; it must be evaluated before kafkajs
// is first loaded, so Kafka modules import it ahead of 'kafkajs'. kafkajs is frozen
// (last release 2023), so the patch is pinned to its file layout; `patched` reports
// whether it took effect, and `assertReadCommittedFix` (called by every Kafka source before
// it creates a consumer) refuses to go on without it: a consumer that can return aborted
// records would silently break exactly-once.
import './kafkajs-group-messages.ts'; // the other kafkajs patches, installed by the same import
import './kafkajs-record-decoder.ts';
import './kafkajs-record-encoder.ts';
import './kafkajs-crc32c.ts'; // before the batch encoder, which takes kafkajs's CRC-32C as it loads
import './kafkajs-record-batch-encoder.ts';
import './kafkajs-request-queue.ts';
import { cachedKafkajsModule, installKafkajsPatch, isMarked, withMark } from './kafkajs-module-patch.ts';
import { TributaryError } from '../../errors.ts';

interface AbortedTxn {
  producerId: string;
  firstOffset: string;
}
interface Msg {
  offset: string;
  batchContext: { producerId: string; inTransaction: boolean };
  key?: Buffer | null;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/** As kafkajs: a control record key of version 0, type 0 (ABORT). */
function isAbortMarker(m: Msg): boolean {
  return m.key ? Buffer.from(m.key).equals(ABORT_MARKER_KEY) : false;
}

function filterAbortedMessages({
  messages,
  abortedTransactions,
}: {
  messages: Msg[];
  abortedTransactions?: AbortedTxn[];
}): Msg[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const remaining = [...abortedTransactions].sort((a, b) => {
    const x = BigInt(a.firstOffset);
    const y = BigInt(b.firstOffset);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const off = BigInt(m.offset);
    while (remaining.length > 0 && off >= BigInt((remaining[0] as AbortedTxn).firstOffset))
      aborted.add(String((remaining.shift() as AbortedTxn).producerId));
    const pid = String(m.batchContext.producerId);
    if (isAbortMarker(m)) {
      aborted.delete(pid);
      return true;
    }
    return !(aborted.has(pid) && m.batchContext.inTransaction);
  });
}

/**
 * Marks the installed filter, so a second evaluation of this module (a test runner re-importing it in a process that
 * keeps Node's CommonJS cache) recognises it.
 */
const MARK = Symbol.for('tributary.kafkajs.readCommittedFix');
const FILTER_FILE = 'kafkajs/src/consumer/filterAbortedMessages.js';

export const patched = installKafkajsPatch({
  file: FILTER_FILE,
  loadedBy: 'kafkajs/src/consumer/batch.js',
  isPatched: (e) => isMarked(e, MARK),
  replace: (original) => (typeof original === 'function' ? withMark(filterAbortedMessages, MARK) : undefined),
});

/** True while kafkajs's filter module is (still) the corrected one. */
export function readCommittedFixInPlace(): boolean {
  return patched && isMarked(cachedKafkajsModule(FILTER_FILE), MARK);
}

/** TRIB_CONNECTOR_FAILED unless the correction is in place; `who` names the source for the message. */
export function assertReadCommittedFix(who: string): void {
  if (!readCommittedFixInPlace())
    throw new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `${who}: the kafkajs read_committed correction (kafkajs-read-committed.ts) is not in place (kafkajs was loaded before it, or its file layout changed); a consumer would return records of aborted transactions, so none is started`,
    );
}
