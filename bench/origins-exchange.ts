// What origins cost where they cross an exchange (graph/origin-exchanges.ts): a keyBy's hash
// exchange to 2 slots, each batch encoded into a DATA frame and decoded again (the data plane's
// work on both sides, one thread, no socket), for records as a Kafka JSON source makes them
// (a bid of ~190 bytes; its origin: an 8-byte key, the value's bytes, one 16-byte header).
// Compared: the exchange built without origins (a job without errorOutput, or with one only
// before the exchange: what every exchange did before) and with them (a step with an
// errorOutput behind the keyBy). Records/s per core (CPU time of this thread) and frame bytes
// per record; best of `rounds`, the two alternating.
import type { Batch } from '../runtime/src/core/batch.ts';
import type { OriginHeader, OriginSource, RecordOrigin } from '../runtime/src/core/origin.ts';
import type { Channel, ChannelElement } from '../runtime/src/core/channel.ts';
import { HashExchange } from '../runtime/src/exec/exchange.ts';
import { ByteWriter, decodeData, writeElement } from '../runtime/src/net/frame-codec.ts';
import { fieldsKeySelector } from '../runtime/src/operators/key-selector.ts';

const BATCH = 1024;
const from: OriginSource = { source: 'bids', topic: 'bids', headerList: (h) => h as OriginHeader[] };

function batches(withOrigins: boolean): Batch[] {
  return Array.from({ length: 16 }, (_, b) => {
    const recs = Array.from({ length: BATCH }, (_, i) => ({
      auction: 1000 + ((b * BATCH + i) % 5000),
      bidder: 2000 + i,
      price: 17 * i,
      channel: 'channel-5',
      url: 'https://www.nexmark.com/abc/def/item.htm?query=1',
      dateTime: 1_700_000_000_000 + i,
      extra: 'x'.repeat(40),
    }));
    const batch: Batch = { recs, ts: recs.map((r) => r.dateTime), keys: [], kgs: [], n: BATCH };
    if (withOrigins)
      batch.origins = recs.map((r, i): RecordOrigin => ({
        from,
        partition: i % 8,
        offset: BigInt(1_000_000 + b * BATCH + i),
        key: Buffer.from(`a-${r.auction}`.padEnd(8, '0')),
        value: Buffer.from(JSON.stringify(r)),
        headers: [{ key: 'trace', value: Buffer.alloc(16, i) }],
      }));
    return batch;
  });
}

/** A channel that is the data plane's two ends: it frames each element and decodes the frame. */
class FramingChannel implements Channel {
  readonly writable = true;
  bytes = 0;
  records = 0;
  private readonly w = new ByteWriter();

  send(el: ChannelElement): void {
    writeElement(this.w, el);
    const frame = this.w.take();
    this.bytes += frame.length;
    for (const got of decodeData(Buffer.concat([Buffer.from([0, 0, 0, 1]), frame])).elements)
      if (got.kind === 'batch') this.records += got.batch.n;
  }

  poll(): ChannelElement | undefined {
    return undefined;
  }
}

interface Run {
  perCore: number;
  bytesPerRecord: number;
}

function run(records: number, carry: boolean): Run {
  const input = batches(carry);
  const channels = [new FramingChannel(), new FramingChannel()];
  const ex = new HashExchange(fieldsKeySelector(['auction']), channels, 128, () => {}, carry);
  const start = process.cpuUsage();
  for (let i = 0; i < records / BATCH; i++) ex.push(input[i % input.length] as Batch);
  const cpu = process.cpuUsage(start);
  const got = channels.reduce((n, c) => n + c.records, 0);
  const bytes = channels.reduce((n, c) => n + c.bytes, 0);
  return { perCore: got / ((cpu.user + cpu.system) / 1e6), bytesPerRecord: bytes / got };
}

export function originsExchangeBenchmark(records = 1_000_000, rounds = 5): void {
  const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  console.log(
    `\norigins across a keyBy exchange (frame encode + decode), ${fmt.format(records)} records, best of ${rounds}`,
  );
  run(100_000, false);
  run(100_000, true);
  let without: Run | undefined;
  let withOrigins: Run | undefined;
  for (let r = 0; r < rounds; r++) {
    const a = run(records, false);
    const b = run(records, true);
    if (!without || a.perCore > without.perCore) without = a;
    if (!withOrigins || b.perCore > withOrigins.perCore) withOrigins = b;
  }
  const w = without as Run;
  const o = withOrigins as Run;
  console.log(
    `  without origins: ${fmt.format(w.perCore)} records/s per core, ${w.bytesPerRecord.toFixed(1)} B/record`,
  );
  console.log(
    `  with origins:    ${fmt.format(o.perCore)} records/s per core, ${o.bytesPerRecord.toFixed(1)} B/record`,
  );
  const extra = (o.bytesPerRecord - w.bytesPerRecord).toFixed(1);
  console.log(`  with/without: ${(o.perCore / w.perCore).toFixed(2)}x throughput, +${extra} B/record`);
}

if (import.meta.main) originsExchangeBenchmark(Number(process.env['BENCH_RECORDS'] ?? 1_000_000));
