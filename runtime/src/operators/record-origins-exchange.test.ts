// A dead letter made behind an exchange names its Kafka record as one made in the source's chain
// does (core/origin.ts): a map behind a keyBy, whose exchange the plan has carry origins
// (graph/origin-exchanges.ts), fails records in memory and across a data-plane frame, and its
// dead letters' JSON `origin` is the in-chain one. A dead letter that crossed a data plane to
// its kafka sink gets its origin back from that JSON (restored-dead-letter-origins.ts): the Kafka
// message, key and headers, is the one written in the failing step's chain.
import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../core/batch.ts';
import { originOfDeadLetter, type OriginSource, type RecordOrigin } from '../core/origin.ts';
import type { Rec } from '../core/record.ts';
import { appendMessages } from '../connectors/kafka/record-messages.ts';
import { LocalChannel } from '../exec/channel.ts';
import { HashExchange } from '../exec/exchange.ts';
import { compileExpr } from '../expr/cel.ts';
import { originsCross } from '../graph/origin-exchanges.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { UNTYPED_CONNECTOR_RULES } from '../graph/testing/untyped-rules.ts';
import { validateGraphWith } from '../graph/validate.ts';
import { FrameDecoder, dataFrame, decodeData } from '../net/frame-codec.ts';
import { batchOf, testContext } from '../testing/harness.ts';
import { fieldsKeySelector } from './key-selector.ts';
import { MapOperator } from './map.ts';
import { RestoredDeadLetterOrigins } from './restored-dead-letter-origins.ts';
import type { ErrorRecord } from './record-errors.ts';
import type { Output } from './types.ts';

/** A Kafka source's own form of headers: name → values (not a list). */
const from: OriginSource = {
  source: 'clicks',
  topic: 'clicks-topic',
  headerList: (h) =>
    Object.entries(h as Record<string, (Buffer | null)[]>).flatMap(([key, vs]) => vs.map((value) => ({ key, value }))),
};
const origin = (i: number): RecordOrigin => ({
  from,
  partition: i % 2,
  offset: 9_007_199_254_740_993n + BigInt(i),
  key: i === 4 ? null : Buffer.from([0xc3, 0x28, i]),
  value: i === 7 ? null : Buffer.from(`{"x": ${i}}`),
  headers: { trace: [Buffer.from([0x00, 0xff, i])], empty: [null, Buffer.alloc(0)] },
});

class Collector implements Output {
  readonly recs: Rec[] = [];
  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.recs.push(b.recs[i] as Rec);
  }
  watermark(): void {}
  idle(): void {}
  end(): void {}
}

/** Records of users u0..u2; every third fails `int(x)`. */
function source(): Batch {
  const b = batchOf(
    Array.from(
      { length: 12 },
      (_, i) => [{ user: `u${i % 3}`, x: i % 3 === 1 ? `bad-${i}` : String(i) }, i] as [Rec, number],
    ),
  );
  b.origins = Array.from({ length: 12 }, (_, i) => origin(i));
  return b;
}

/** kafka → keyBy user → map with errorOutput, as the plan decides it. */
const plan = validateGraphWith(
  {
    sources: [{ name: 'clicks', kafka: { brokers: ['b:9092'], topic: 'clicks-topic', groupId: 'g' } }],
    steps: [
      { name: 'by', from: 'clicks', keyBy: 'user' },
      { name: 'parse', from: 'by', map: { user: 'user', n: 'int(x)' }, errorOutput: 'bad' },
    ],
    sinks: [
      { name: 'out', from: 'parse', console: {} },
      { name: 'dead', from: 'bad', console: {} },
    ],
  } as unknown as GraphSpec,
  UNTYPED_CONNECTOR_RULES,
);

function mapStep(dead: Output): MapOperator {
  const ctx = { ...testContext(), stepName: 'parse' };
  return new MapOperator({ user: compileExpr('user'), n: compileExpr('int(x)') }, ctx, new Collector(), dead);
}

const wire = (b: Batch): Batch => {
  const el = decodeData(new FrameDecoder().push(dataFrame(0, [{ kind: 'batch', batch: b }]))[0]!.body).elements[0];
  return el?.kind === 'batch' ? el.batch : ({} as Batch);
};

/** The dead letters of the map run behind the keyBy's exchange (`cross`: what the channel does to a batch). */
function behindExchange(cross: (b: Batch) => Batch): ErrorRecord[] {
  const channels = [new LocalChannel(16), new LocalChannel(16)];
  const ex = new HashExchange(fieldsKeySelector(['user']), channels, 128, () => {}, originsCross(plan, 'by', 'parse'));
  ex.push(source());
  const dead = new Collector();
  const op = mapStep(dead);
  for (const ch of channels)
    for (let el = ch.poll(); el; el = ch.poll()) if (el.kind === 'batch') op.push(cross(el.batch));
  return dead.recs as ErrorRecord[];
}

function inChain(): ErrorRecord[] {
  const dead = new Collector();
  mapStep(dead).push(source());
  return dead.recs as ErrorRecord[];
}

const byOffset = (ls: ErrorRecord[]) =>
  [...ls].sort((a, b) => (a.origin?.offset ?? '').localeCompare(b.origin?.offset ?? ''));
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('a map behind a keyBy', () => {
  it.each([
    ['in memory', (b: Batch) => b],
    ['across a data plane', wire],
  ])('%s: its dead letters name their Kafka record as in the source chain', (_how, cross) => {
    const want = inChain();
    expect(want.map((l) => l.origin?.offset)).toHaveLength(4);
    const got = byOffset(behindExchange(cross));
    expect(json(got)).toEqual(json(byOffset(want)));
    for (const l of got) expect(l.origin).toBeDefined();
    expect(got.map((l) => l.origin?.key)).toContain(null);
    expect(got.map((l) => l.origin?.value)).toContain(null);
  });
});

describe('a dead letter that crossed a data plane to its kafka sink', () => {
  const messages = (letters: ErrorRecord[], restore: boolean): Message[] => {
    const b = batchOf(letters.map((l, i) => [l as Rec, i]));
    const out: Message[] = [];
    const sink: Output = {
      push: (x) => appendMessages(x, out, 'json', undefined),
      watermark() {},
      idle() {},
      end() {},
    };
    (restore ? new RestoredDeadLetterOrigins(sink) : sink).push(b);
    return out;
  };
  const hex = (ms: Message[]) =>
    ms.map((m) => ({
      key: m.key === null || m.key === undefined ? null : Buffer.from(m.key).toString('hex'),
      value: m.value?.toString(),
      headers: Object.entries(m.headers ?? {}).map(([k, v]) => [
        k,
        (Array.isArray(v) ? v : [v]).map((x) => Buffer.from(x as Buffer).toString('hex')),
      ]),
    }));

  it('is written with the original key and headers, byte for byte as in the chain', () => {
    const letters = inChain();
    const arrived = json(letters) as ErrorRecord[]; // what a frame's JSON makes of it
    expect(arrived.map((l) => originOfDeadLetter(l))).toEqual(letters.map(() => undefined));
    const want = hex(messages(letters, false));
    expect(want[0]?.headers.length).toBeGreaterThan(8);
    expect(hex(messages(arrived, true))).toEqual(want);
    expect(hex(messages(json(letters) as ErrorRecord[], false))).not.toEqual(want);
  });
});
