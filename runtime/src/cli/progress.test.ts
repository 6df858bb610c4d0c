import { describe, expect, it } from 'vitest';
import { ProgressLine } from './progress.ts';

describe('progress line', () => {
  it('shows the sink watermark and its lag behind the newest event seen', () => {
    let text = '';
    const stream = { write: (s: string) => (text += s) } as unknown as NodeJS.WriteStream;
    const line = new ProgressLine(stream);
    const base = { state: 'RUNNING' as const, parallelism: 2, recordsIn: 10, recordsOut: 5 };
    line.render({ ...base, watermark: 1_700_000_000_000, watermarkLagMs: 2500 });
    expect(text).toContain('watermark 2023-11-14T22:13:20.000Z (lag 2.5s)  p=2');
    text = '';
    line.render({ ...base, watermark: 1_700_000_000_000 });
    expect(text).not.toContain('lag');
  });

  it('never shows a negative rate when the counts start again (a run on threads restarted)', () => {
    let text = '';
    const stream = { write: (s: string) => (text += s) } as unknown as NodeJS.WriteStream;
    const line = new ProgressLine(stream);
    const base = { state: 'RUNNING' as const, parallelism: 2, recordsOut: 0, watermark: 0 };
    line.render({ ...base, recordsIn: 50_000 });
    text = '';
    line.render({ ...base, recordsIn: 10 });
    expect(text).toMatch(/in 10 \(\d[\d,]*\/s\)/);
    expect(text).not.toContain('(-');
  });
});
