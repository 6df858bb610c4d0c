import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { mergeExpositions } from './merge-exposition.ts';

/** A slot's registry as the engine fills one: a labelled counter, a per-slot gauge, a histogram. */
async function slotText(slot: number, n: number): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  new Counter({ name: 'rec_total', help: 'Records', labelNames: ['node'], registers }).inc({ node: 'a"}b' }, n);
  new Gauge({ name: 'wm', help: 'Watermark', labelNames: ['slot'], registers }).set({ slot: String(slot) }, 7);
  new Histogram({ name: 'lat', help: 'Latency', buckets: [1], registers }).observe(n);
  new Gauge({ name: 'up', help: 'Up', registers }).set(1);
  return registry.metrics();
}

describe('mergeExpositions', () => {
  it('gathers each family once across sources, labelling every sample with its source (never twice)', async () => {
    const sup = new Registry();
    new Counter({ name: 'restarts_total', help: 'Restarts', registers: [sup] }).inc(2);
    const text = mergeExpositions([
      { text: await sup.metrics() },
      { text: await slotText(0, 3), label: ['slot', '0'] },
      { text: await slotText(1, 5), label: ['slot', '1'] },
    ]);
    for (const name of ['restarts_total', 'rec_total', 'wm', 'lat', 'up']) {
      expect(text.split(`# TYPE ${name} `).length, name).toBe(2);
      expect(text.split(`# HELP ${name} `).length, name).toBe(2);
    }
    expect(text).toContain('restarts_total 2\n');
    expect(text).toContain('rec_total{slot="0",node="a\\"}b"} 3\n');
    expect(text).toContain('rec_total{slot="1",node="a\\"}b"} 5\n');
    expect(text).toContain('wm{slot="1"} 7\n');
    expect(text).not.toContain('slot="1",slot=');
    expect(text).toContain('lat_bucket{slot="1",le="+Inf"} 1\n');
    expect(text).toContain('lat_sum{slot="0"} 3\n');
    expect(text).toContain('up{slot="0"} 1\n');
    // A family's samples sit together, under its own TYPE line.
    const lines = text.split('\n');
    const firstRec = lines.findIndex((l) => l.startsWith('rec_total{'));
    expect(lines[firstRec + 1]).toMatch(/^rec_total\{slot="1"/);
    expect(lines[firstRec - 1]).toBe('# TYPE rec_total counter');
  });

  it('files an untyped sample after another family under its own name, and escapes a newline in the added label', () => {
    const a = '# HELP g A gauge\n# TYPE g gauge\ng 1\nloose_metric 4\n';
    const b = '# HELP g A gauge\n# TYPE g gauge\ng 2\nloose_metric 6\n';
    const text = mergeExpositions([
      { text: a, label: ['slot', 'x\ny'] },
      { text: b, label: ['slot', '1'] },
    ]);
    expect(text).toBe(
      '# HELP g A gauge\n# TYPE g gauge\ng{slot="x\\ny"} 1\ng{slot="1"} 2\n\nloose_metric{slot="x\\ny"} 4\nloose_metric{slot="1"} 6\n\n',
    );
  });
});
