// Records through a data-plane channel pair, for the net/ tests: numbered batches in, the
// numbers out, so a test asserts order and completeness.
import type { ChannelElement } from '../core/channel.ts';
import type { InboundChannel, OutboundChannel } from '../net/tcp-channel.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A batch of `n` records numbered from `from` (`seq`), each with a 40-byte pad. */
export function seqBatch(from: number, n: number): ChannelElement {
  const recs = Array.from({ length: n }, (_, i) => ({ seq: from + i, pad: 'x'.repeat(40) }));
  return { kind: 'batch', batch: { recs, ts: recs.map((r) => r.seq), keys: [], kgs: [], n } };
}

/** Sends `n` records in batches of 50 and end, as credit allows; polls `inp` until end; returns the numbers. */
export async function flow(out: OutboundChannel, inp: InboundChannel, n: number): Promise<number[]> {
  const seen: number[] = [];
  let ended = false;
  const consume = (): void => {
    for (let el = inp.poll(); el; el = inp.poll()) {
      if (el.kind === 'batch') for (const r of el.batch.recs) seen.push(r['seq'] as number);
      if (el.kind === 'end') ended = true;
    }
  };
  for (let seq = 0; seq < n;) {
    while (out.writable && seq < n) {
      out.send(seqBatch(seq, 50));
      seq += 50;
    }
    await tick();
    consume();
  }
  out.send({ kind: 'end' });
  for (let i = 0; i < 2000 && !ended; i++) {
    await tick();
    consume();
  }
  return seen;
}

/** 0..n−1. */
export const seq = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
