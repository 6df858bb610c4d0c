// Where a record came from: the source record it descends from one-to-one. A source that knows
// it (the Kafka source, only while its job has an errorOutput) hands it over with each record
// it polls; stateless steps (filter, map, flatMap, keyBy's key check, lookup, function
// map/filter/flatMap, union, a sink's key check) pass the same reference on beside the records
// they emit, in Batch.origins; a record's dead letter (operators/record-errors.ts) then names it.
// Within a chain nothing copies an origin or allocates one per record: the Kafka source's queued
// entry is the origin itself. An exchange passes origins on only where the plan needs them
// (graph/origin-exchanges.ts: a Kafka source before it and a step or sink with an errorOutput
// behind it, with no merging step between): in memory the same references, per target slot;
// across a data plane encoded in the frame (net/origin-codec.ts) and decoded into origins of
// one OriginSource per (source, topic) (decoded-origin.ts).
//
// Invariants: `Batch.origins`, when set, is parallel to `recs` over [0, n) (entry i is record
// i's origin, undefined when it has none). None is set on a record made from several input
// records (window, aggregate, join), on a batch that crosses an exchange the plan does not pass
// origins across (a copy of recs and ts only), nor by a step that holds records across calls
// (mapAsync, a lookup by key with fetches), so an origin never names the wrong record. An
// exchange that passes them keeps entry i with record i through its routing and its frame. A
// step fails a record against the origin of the batch it was pushed with, so the async lookup's
// key check names one.

/** What carries origins: a Batch (core/batch.ts; named structurally here, batch.ts imports this file). */
interface WithOrigins {
  origins?: (RecordOrigin | undefined)[] | undefined;
}

/** One header of a source record, as it was read. */
export interface OriginHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** What every origin of one source shares (one object per source slot, not per record). */
export interface OriginSource {
  /** The graph's name of the source. */
  readonly source: string;
  readonly topic: string;
  /** The record's headers in record order, from the connector's own form of them (RecordOrigin.headers). */
  headerList(headers: unknown): readonly OriginHeader[];
}

export interface RecordOrigin {
  readonly from: OriginSource;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** The connector's own form of the record's headers (read through `from.headerList`). */
  readonly headers?: unknown;
}

/**
 * The origins array a step fills for the records it emits from `input` into `out`: `out`'s own
 * (allocated once per step, reused like `out.recs`) when `input` carries origins, else none,
 * and `out` then carries none either.
 */
export function originsFrom(input: WithOrigins, out: WithOrigins): (RecordOrigin | undefined)[] | undefined {
  if (input.origins === undefined) {
    out.origins = undefined;
    return undefined;
  }
  return (out.origins ??= []);
}

/** A record's origin in its dead letter's JSON (operators/dead-letter-origin.ts renders it). */
export interface DeadLetterOrigin {
  source: string;
  topic: string;
  partition: number;
  offset: string;
  /** How key, value and header values are written: always base64. */
  encoding: 'base64';
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

/** Where a dead letter (operators/record-errors.ts) keeps its record's origin, unlisted: JSON never sees it. */
export const DEAD_LETTER_ORIGIN: unique symbol = Symbol('tributary.deadLetterOrigin');

/**
 * The origin a dead letter was made with, while it is still the same object (in memory), or as a
 * kafka sink behind a data plane rebuilt it (operators/restored-dead-letter-origins.ts).
 */
export function originOfDeadLetter(rec: object): RecordOrigin | undefined {
  return (rec as { [DEAD_LETTER_ORIGIN]?: RecordOrigin })[DEAD_LETTER_ORIGIN];
}
