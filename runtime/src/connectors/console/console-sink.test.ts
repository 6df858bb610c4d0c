// The console sink at a checkpoint barrier: preCommit resolves only once every line written
// before it left the process. stdout is a real Node stream here (a PassThrough nobody reads yet,
// as a pipe whose reader lags), so its buffered lines are what the barrier must wait for.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { newBatch, type Batch } from '../../core/batch.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { ConsoleSink } from './console-sink.ts';

function records(n: number): Batch {
  const b = newBatch();
  for (let i = 0; i < n; i++) {
    b.recs.push({ id: i });
    b.ts.push(0);
    b.n++;
  }
  return b;
}

describe('console sink at a checkpoint barrier', () => {
  it('resolves once the lines written before the barrier are drained', async () => {
    const out = new PassThrough({ highWaterMark: 64 });
    const sink = new ConsoleSink({}, 'out', out);
    await sink.open({ sinkName: 'out', slot: 0, parallelism: 1, logger: silentLogger(), wake: () => undefined });
    sink.write(records(50)); // more than the stream holds: it waits for its reader
    let done = false;
    const pre = sink.preCommit(1).then((c) => {
      done = true;
      return c;
    });
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
    expect(done).toBe(false);
    let read = '';
    out.on('data', (d: Buffer) => (read += d.toString()));
    await expect(pre).resolves.toEqual([]);
    expect(read.split('\n').filter((l) => l !== '')).toHaveLength(50);
    await sink.close();
  });
});
