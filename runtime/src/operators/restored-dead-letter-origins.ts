// In front of a kafka sink that dead letters may reach across an exchange
// (graph/origin-exchanges.ts restoresDeadLetterOrigins): a dead letter that crossed a data plane
// arrived as its JSON and lost the origin it was made with (core/origin.ts DEAD_LETTER_ORIGIN),
// which the sink needs to write the original key and headers (kafka/dead-letter-message.ts).
// Its JSON `origin` holds all of it (dead-letter-origin.ts: base64 bytes, the offset as a
// string), so the origin is rebuilt from it and attached as the dead letter made in the
// failing step's chain holds it: the Kafka record is then byte for byte the one written there.
// A dead letter that still holds its origin (it crossed in memory) or has none is passed as is.
import type { Batch } from '../core/batch.ts';
import { decodedOrigin, decodedOriginSource } from '../core/decoded-origin.ts';
import { DEAD_LETTER_ORIGIN, originOfDeadLetter, type OriginHeader, type RecordOrigin } from '../core/origin.ts';
import { ForwardingOutput } from './forwarding-output.ts';

const OFFSET = /^-?\d+$/;

function bytes(v: unknown): Uint8Array | null | undefined {
  if (v === null) return null;
  return typeof v === 'string' ? Buffer.from(v, 'base64') : undefined;
}

/** The origin a dead letter's JSON `origin` names; undefined when it is not one deadLetterOrigin renders. */
export function originFromJson(json: unknown): RecordOrigin | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const o = json as Record<string, unknown>;
  const { source, topic, partition, offset, headers } = o;
  if (o['encoding'] !== 'base64' || typeof source !== 'string' || typeof topic !== 'string') return undefined;
  if (typeof partition !== 'number' || !Number.isInteger(partition)) return undefined;
  if (typeof offset !== 'string' || !OFFSET.test(offset) || !Array.isArray(headers)) return undefined;
  const key = bytes(o['key']);
  const value = bytes(o['value']);
  if (key === undefined || value === undefined) return undefined;
  const list: OriginHeader[] = [];
  for (const h of headers as unknown[]) {
    const hk = (h as { key?: unknown } | null)?.key;
    const hv = bytes((h as { value?: unknown }).value);
    if (typeof hk !== 'string' || hv === undefined) return undefined;
    list.push({ key: hk, value: hv });
  }
  return decodedOrigin(decodedOriginSource(source, topic), partition, BigInt(offset), key, value, list);
}

export class RestoredDeadLetterOrigins extends ForwardingOutput {
  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) {
      const rec = b.recs[i];
      if (rec === null || typeof rec !== 'object' || originOfDeadLetter(rec) !== undefined) continue;
      const origin = originFromJson((rec as Record<string, unknown>)['origin']);
      if (origin !== undefined) Object.defineProperty(rec, DEAD_LETTER_ORIGIN, { value: origin });
    }
    this.out.push(b);
  }
}
