// How a batch of records becomes Kafka messages, shared by the at-least-once and the
// transactional sink so both write byte-identical messages.
import type { Message } from 'kafkajs';
import type { CompiledExpr } from '../../expr/cel.ts';
import type { Batch } from '../../operators/types.ts';

/**
 * Appends one message per record to `out`: the value is the record as JSON (or its `value`
 * field for `format: string`), the timestamp its event time, the key the `key` expression's
 * result (a key that fails to evaluate is null: the record is still written, unpartitioned).
 */
export function appendMessages(b: Batch, out: Message[], asString: boolean, key: CompiledExpr | undefined): void {
  for (let i = 0; i < b.n; i++) {
    const rec = b.recs[i] as Record<string, unknown>;
    const value = asString ? String(rec['value'] ?? '') : JSON.stringify(rec);
    let k: string | null = null;
    if (key) {
      try {
        const v = key.evaluate(rec);
        k = v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);
      } catch {
        k = null;
      }
    }
    out.push({ key: k, value, timestamp: String(b.ts[i]) });
  }
}
