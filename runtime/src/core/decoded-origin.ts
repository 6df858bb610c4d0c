// Origins (origin.ts) that arrived in another form than the source's own: decoded from a data-plane
// frame (net/origin-codec.ts) or rebuilt from a dead letter's JSON `origin`
// (operators/restored-dead-letter-origins.ts). Their headers are already a list of
// OriginHeader, so their OriginSource reads them as they are. One OriginSource per (source,
// topic) in a process, as a Kafka source slot has one, not one per record.
import type { OriginHeader, OriginSource, RecordOrigin } from './origin.ts';

class DecodedOriginSource implements OriginSource {
  readonly source: string;
  readonly topic: string;

  constructor(source: string, topic: string) {
    this.source = source;
    this.topic = topic;
  }

  headerList(headers: unknown): readonly OriginHeader[] {
    return (headers as readonly OriginHeader[] | undefined) ?? [];
  }
}

const sources = new Map<string, DecodedOriginSource>();

/** The OriginSource of decoded origins of `source` read from `topic`. */
export function decodedOriginSource(source: string, topic: string): OriginSource {
  const k = `${source}\u0000${topic}`;
  let s = sources.get(k);
  if (s === undefined) {
    s = new DecodedOriginSource(source, topic);
    sources.set(k, s);
  }
  return s;
}

/** An origin whose headers are a list (`headers` as the source read them, in record order). */
export function decodedOrigin(
  from: OriginSource,
  partition: number,
  offset: bigint,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers: readonly OriginHeader[],
): RecordOrigin {
  return { from, partition, offset, key, value, headers };
}
