// Field types of the Nexmark-like datagen records (generator: nexmark.ts), for validation.
// Every record has `event_type` ("person" | "auction" | "bid") and `ts` (epoch ms event time).
import type { FieldType, FieldTypes } from '../../core/record.ts';

export const NEXMARK_FIELDS: Record<'person' | 'auction' | 'bid', Record<string, FieldType>> = {
  person: {
    event_type: 'string',
    ts: 'double',
    id: 'double',
    name: 'string',
    email: 'string',
    city: 'string',
    state: 'string',
  },
  auction: {
    event_type: 'string',
    ts: 'double',
    id: 'double',
    itemName: 'string',
    initialBid: 'double',
    reserve: 'double',
    expires: 'double',
    seller: 'double',
    category: 'double',
  },
  bid: {
    event_type: 'string',
    ts: 'double',
    auction: 'double',
    bidder: 'double',
    price: 'double',
    channel: 'string',
    url: 'string',
  },
};

export function nexmarkSchema(events: readonly string[]): FieldTypes {
  const out: Record<string, FieldType> = {};
  for (const e of events) {
    const f = NEXMARK_FIELDS[e as keyof typeof NEXMARK_FIELDS];
    if (f) for (const [k, t] of Object.entries(f)) out[k] = out[k] === undefined || out[k] === t ? t : 'dyn';
  }
  return out;
}
