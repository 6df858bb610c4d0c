import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { weightedHistogram } from './weighted-histogram.ts';

const BUCKETS = [0.1, 0.5, 1, 5];

/**
 * Text samples with each line's labels sorted (label order does not matter) and values to 12 digits (n additions of v
 * and one v·n differ in the last bits).
 */
async function samples(r: Registry): Promise<string[]> {
  const text = await r.metrics();
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\w+)(?:\{(.*)\})? (.+)$/.exec(l);
      if (!m) return l;
      const labels = (m[2] ?? '')
        .split(',')
        .filter((x) => x !== '')
        .sort()
        .join(',');
      return `${m[1]}{${labels}} ${Number(Number(m[3]).toPrecision(12))}`;
    })
    .sort();
}

describe('WeightedHistogram', () => {
  it('observe(v, n) records what n calls of prom-client Histogram.observe(v) record', async () => {
    const plain = new Registry();
    const h = new Histogram({
      name: 'lat_seconds',
      help: 'h',
      labelNames: ['sink', 'slot'],
      buckets: BUCKETS,
      registers: [plain],
    });
    const weighted = new Registry();
    const w = weightedHistogram(weighted, {
      name: 'lat_seconds',
      help: 'h',
      labelNames: ['sink', 'slot'],
      buckets: BUCKETS,
    });
    const obs: [string, string, number, number][] = [
      ['out', '0', 0.05, 3],
      ['out', '0', 0.1, 2], // on a bound: that bucket
      ['out', '0', 0.7, 5],
      ['out', '1', 7, 4], // above every bound: +Inf only
      ['other', '0', 1, 1],
    ];
    for (const [sink, slot, v, n] of obs) {
      for (let i = 0; i < n; i++) h.observe({ sink, slot }, v);
      w.observe({ sink, slot }, v, n);
    }
    expect(await samples(weighted)).toEqual(await samples(plain));
  });

  it('is created once per registry and name; reset empties it; zero weights are ignored', async () => {
    const r = new Registry();
    const a = weightedHistogram(r, { name: 'x_seconds', help: 'x', labelNames: ['sink'], buckets: BUCKETS });
    expect(weightedHistogram(r, { name: 'x_seconds', help: 'x', labelNames: ['sink'], buckets: BUCKETS })).toBe(a);
    a.observe({ sink: 's' }, 0.2, 0);
    expect(await samples(r)).toEqual([]);
    a.observe({ sink: 's' }, 0.2, 2);
    expect(await samples(r)).toContain('x_seconds_count{sink="s"} 2');
    r.resetMetrics();
    expect(await samples(r)).toEqual([]);
  });
});
