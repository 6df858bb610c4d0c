// Golden tests: the example graphs of the repo, on fixed input, produce the committed
// output (sorted JSON lines per sink), at parallelism 1 and 3 alike.
// Regenerate after an intended change: UPDATE_GOLDEN=1 npx vitest run --project unit runtime/test/golden
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobExecutor } from '../../src/job/job-executor.ts';
import { loadJobFile } from '../../src/graph/load.ts';
import type { GraphSpec } from '../../src/graph/spec.ts';
import { validateGraph } from '../../src/connectors/validate-graph.ts';
import { CollectingSink, sortedJson, type Emitted } from '../../src/testing/harness.ts';

const here = import.meta.dirname;
const update = process.env['UPDATE_GOLDEN'] === '1';

interface Case {
  name: string;
  file: string;
  /** Makes a live example deterministic (fixed start time, bounded count, no rate limit). */
  fix?: (g: GraphSpec) => void;
}

const cases: Case[] = [
  {
    name: 'clicks-local',
    file: 'crds/examples/clicks-local.yaml',
    fix: (g) => {
      const d = g.sources[0]?.datagen;
      if (!d) throw new Error('clicks-local: expected a datagen source');
      delete d.rate;
      d.count = 6000;
      d.startTime = 1_700_000_000_000;
      d.eventRate = 500;
    },
  },
  { name: 'sessions', file: 'runtime/test/golden/graphs/sessions.yaml' },
  { name: 'orders-join', file: 'runtime/test/golden/graphs/orders-join.yaml' },
  { name: 'nexmark-hot-items', file: 'runtime/test/golden/graphs/nexmark-hot-items.yaml' },
];

async function run(c: Case, parallelism: number): Promise<Map<string, string[]>> {
  const loaded = loadJobFile(c.file);
  c.fix?.(loaded.graph as GraphSpec);
  const graph = validateGraph(loaded.graph, loaded.graphPath);
  const out = new Map<string, Emitted[]>(graph.spec.sinks.map((s) => [s.name, []]));
  await new JobExecutor(graph, {
    parallelism,
    maxParallelism: 128,
    sinkWriter: (spec) => new CollectingSink(out.get(spec.name)),
  }).run();
  return new Map([...out].map(([k, v]) => [k, sortedJson(v.map((e) => e.rec))]));
}

describe('golden', () => {
  for (const c of cases) {
    it(`${c.name}: fixed input gives the committed output at parallelism 1 and 3`, async () => {
      const p1 = await run(c, 1);
      const p3 = await run(c, 3);
      for (const [sink, lines] of p1) {
        const path = join(here, 'expected', `${c.name}.${sink}.jsonl`);
        const text = lines.map((l) => `${l}\n`).join('');
        // A missing expectation fails: writing it here would make a deleted file pass.
        if (update) writeFileSync(path, text);
        expect(existsSync(path), `${path} is missing (regenerate with UPDATE_GOLDEN=1 after checking the output)`).toBe(
          true,
        );
        expect(lines.length, `${c.name}/${sink} produced nothing`).toBeGreaterThan(0);
        expect(text).toBe(readFileSync(path, 'utf8'));
        expect(p3.get(sink)).toEqual(lines);
      }
      // Every committed expectation of this case is still produced (a sink that went silent fails too).
      const expectedSinks = readdirSync(join(here, 'expected'))
        .filter((f) => f.startsWith(`${c.name}.`) && f.endsWith('.jsonl'))
        .map((f) => f.slice(c.name.length + 1, -'.jsonl'.length));
      expect([...p1.keys()].sort()).toEqual(expectedSinks.sort());
    });
  }
});
