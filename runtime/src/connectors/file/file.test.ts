import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import { loadJobFile } from '../../graph/load.ts';
import { validateGraph } from '../validate-graph.ts';

describe('file source and sink', () => {
  it('reads JSON lines (skipping and counting bad ones) and writes JSON lines, per slot with {slot}', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-file-'));
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, ['{"n":1}', 'not json', '{"n":2}', '', '[1]', '{"n":3}'].join('\n') + '\n');
    const g = validateGraph({
      sources: [{ name: 'in', file: { path: input } }],
      steps: [{ name: 'double', from: 'in', map: { n: 'n * 2' } }],
      sinks: [
        { name: 'all', from: 'double', file: { path: join(dir, 'out.jsonl') } },
        { name: 'per-slot', from: 'double', file: { path: join(dir, 'out-{slot}.jsonl') } },
      ],
    });
    const job = new JobExecutor(g, { parallelism: 2 });
    const r = await job.run();
    expect(r.recordsIn).toBe(3);
    const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(['{"n":2}', '{"n":4}', '{"n":6}']);
    const perSlot = [0, 1].flatMap((s) =>
      readFileSync(join(dir, `out-${s}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l !== ''),
    );
    expect(perSlot.sort()).toEqual(lines);
    const failed = await job.metrics.sourceRecordsFailed.get();
    expect(Object.fromEntries(failed.values.map((v) => [v.labels['reason'], v.value]))).toEqual({
      invalid_json: 1,
      not_an_object: 1,
    });
  });

  it('the Kafka example manifest validates', () => {
    const j = loadJobFile(join(import.meta.dirname, '../../../../crds/examples/clicks-kafka.yaml'));
    expect(validateGraph(j.graph, j.graphPath).nodes.size).toBe(7);
  });
});
