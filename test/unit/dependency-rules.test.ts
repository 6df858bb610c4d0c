// The dependency rules of `npm run lint` (.dependency-cruiser.js) must fail on what they
// forbid: each case lays out a small tree shaped like the repository in a temp folder, with
// one breach, and runs the real dependency-cruiser with the project's own configuration.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const depcruise = join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

async function cruise(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const root = mkdtempSync(join(tmpdir(), 'trib-deps-'));
  roots.push(root);
  const all = { 'tsconfig.json': '{"compilerOptions":{"allowImportingTsExtensions":true,"noEmit":true}}', ...files };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const args = [depcruise, '.', '--config', join(repo, '.dependency-cruiser.js')];
  try {
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: root });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

describe('dependency rules', () => {
  it('enforce the layer order docs/layout.md gives', async () => {
    const config = pathToFileURL(join(repo, '.dependency-cruiser.js')).href;
    const { RUNTIME_LAYERS } = (await import(config)) as { RUNTIME_LAYERS: [name: string, path: string][] };
    const doc = readFileSync(join(repo, 'docs/layout.md'), 'utf8');
    const block = /```\n([^`]*)```/.exec(doc.slice(doc.indexOf('\n## Layers\n')))?.[1] ?? '';
    const enforced = RUNTIME_LAYERS.map(([, path]) => path.replace('\\.ts$', '.ts'));
    expect(block.split(/\s+/).filter(Boolean)).toEqual(enforced);
  });

  it('pass a tree that keeps the layers', async () => {
    const r = await cruise({
      'runtime/src/errors.ts': 'export const E = 1;\n',
      'runtime/src/state/a.ts': "import { E } from '../errors.ts';\nexport const A = E;\n",
      'runtime/src/exec/b.ts': "import { A } from '../state/a.ts';\nexport const B = A;\n",
    });
    expect(r.out).toContain('no dependency violations');
    expect(r.code).toBe(0);
  });

  it('fail on an import cycle, type-only imports included', async () => {
    const r = await cruise({
      'operator/src/controllers/a.ts': "import type { B } from './b.ts';\nexport type A = { b?: B };\n",
      'operator/src/controllers/b.ts': "import type { A } from './a.ts';\nexport type B = { a?: A };\n",
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('no-cycle');
  });

  it.each([
    [
      'kube-is-generic',
      'operator/src/kube/informer.ts',
      "import { X } from '../controllers/x.ts';",
      'operator/src/controllers/x.ts',
    ],
    ['state-is-a-leaf', 'runtime/src/state/keyed.ts', "import { X } from '../exec/x.ts';", 'runtime/src/exec/x.ts'],
    ['core-is-a-leaf', 'runtime/src/core/batch.ts', "import { X } from '../time/x.ts';", 'runtime/src/time/x.ts'],
    ['layer-expr', 'runtime/src/expr/cel.ts', "import { X } from '../graph/spec.ts';", 'runtime/src/graph/spec.ts'],
    [
      'layer-checkpoint',
      'runtime/src/checkpoint/barrier-aligner.ts',
      "import { X } from '../exec/channel.ts';",
      'runtime/src/exec/channel.ts',
    ],
    [
      'layer-checkpoint',
      'runtime/src/checkpoint/coordinator.ts',
      "import { X } from '../control/contract.ts';",
      'runtime/src/control/contract.ts',
    ],
    [
      'layer-connectors',
      'runtime/src/connectors/kudu/kudu-point-lookup.ts',
      "import { X } from '../../operators/types.ts';",
      'runtime/src/operators/types.ts',
    ],
    [
      'layer-net',
      'runtime/src/net/frame-codec.ts',
      "import type { X } from '../exec/channel.ts';",
      'runtime/src/exec/channel.ts',
    ],
    [
      'layer-operators',
      'runtime/src/operators/async-map.ts',
      "import { X } from '../exec/load-meter.ts';",
      'runtime/src/exec/load-meter.ts',
    ],
    [
      'layer-control',
      'runtime/src/control/server.ts',
      "import type { X } from '../exec/job-executor.ts';",
      'runtime/src/exec/job-executor.ts',
    ],
    [
      'layer-exec',
      'runtime/src/exec/slot.ts',
      "import { X } from '../rescale/plan.ts';",
      'runtime/src/rescale/plan.ts',
    ],
    [
      'layer-exec',
      'runtime/src/exec/slot-builder.ts',
      "import type { X } from '../rescale/migration.ts';",
      'runtime/src/rescale/migration.ts',
    ],
    [
      'layer-rescale',
      'runtime/src/rescale/plan.ts',
      "import { X } from '../process/slot-process.ts';",
      'runtime/src/process/slot-process.ts',
    ],
    [
      'layer-rescale',
      'runtime/src/rescale/rescale-local.ts',
      "import type { X } from '../job/job-executor.ts';",
      'runtime/src/job/job-executor.ts',
    ],
    [
      'layer-job',
      'runtime/src/job/job-executor.ts',
      "import { X } from '../process/slot-process.ts';",
      'runtime/src/process/slot-process.ts',
    ],
    [
      'layer-process',
      'runtime/src/process/supervisor.ts',
      "import { X } from '../application/app.ts';",
      'runtime/src/application/app.ts',
    ],
    ['layer-application', 'runtime/src/application/app.ts', "import { X } from '../api.ts';", 'runtime/src/api.ts'],
    [
      'layer-main',
      'runtime/src/main.ts',
      "import { X } from './warm-compile-cache.ts';",
      'runtime/src/warm-compile-cache.ts',
    ],
    ['layer-unlisted', 'runtime/src/newfolder/x.ts', "import { X } from '../errors.ts';", 'runtime/src/errors.ts'],
    [
      'operator-imports-the-runtime-contract',
      'operator/src/controllers/streamjob/records-dropped-condition.ts',
      "import { X } from '../../../../runtime/src/exec/dropped-records.ts';",
      'runtime/src/exec/dropped-records.ts',
    ],
    [
      'operator-imports-the-runtime-contract',
      'operator/src/controllers/streamjob/slot-runtime.ts',
      "import type { X } from '../../../../runtime/src/core/outage.ts';",
      'runtime/src/core/outage.ts',
    ],
    [
      'graph-is-the-contract',
      'runtime/src/graph/spec.ts',
      "import { X } from '../connectors/x.ts';",
      'runtime/src/connectors/x.ts',
    ],
    [
      'runtime-never-imports-operator',
      'runtime/src/exec/job.ts',
      "import { X } from '../../../operator/src/x.ts';",
      'operator/src/x.ts',
    ],
  ])('fail when a lower layer imports its caller (%s)', async (rule, from, line, to) => {
    const r = await cruise({ [from]: `${line}\nexport const Y = X;\n`, [to]: 'export const X = 1;\n' });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(rule);
  });

  it('pass imports down the layers, tests that drive the layer above, and the operator through its list', async () => {
    const r = await cruise({
      'runtime/src/errors.ts': 'export const E = 1;\n',
      'runtime/src/core/record.ts': "import { E } from '../errors.ts';\nexport const R = E;\n",
      'runtime/src/expr/cel.ts': "import { R } from '../core/record.ts';\nexport const C = R;\n",
      'runtime/src/graph/spec.ts': "import { C } from '../expr/cel.ts';\nexport const G = C;\n",
      'runtime/src/connectors/table.ts': "import { R } from '../core/record.ts';\nexport const T = R;\n",
      'runtime/src/operators/lookup.ts': "import { T } from '../connectors/table.ts';\nexport const L = T;\n",
      'runtime/src/checkpoint/aligner.ts': "import { R } from '../core/record.ts';\nexport const A = R;\n",
      'runtime/src/control/contract.ts': "import { R } from '../core/record.ts';\nexport const K = R;\n",
      'runtime/src/control/server.ts': "import { A } from '../checkpoint/aligner.ts';\nexport const S = A;\n",
      'runtime/src/exec/job.ts':
        "import { A } from '../checkpoint/aligner.ts';\nimport { S } from '../control/server.ts';\nexport const J = [A, S];\n",
      'runtime/src/rescale/plan.ts': "import { J } from '../exec/job.ts';\nexport const P = J;\n",
      'runtime/src/job/job-executor.ts': "import { P } from '../rescale/plan.ts';\nexport const L = P;\n",
      'runtime/src/process/slot.ts': "import { L } from '../job/job-executor.ts';\nexport const Q = L;\n",
      'runtime/src/api.ts': "import { Q } from './process/slot.ts';\nexport const D = Q;\n",
      'runtime/src/application/testdata/program.ts': "import { D } from '../../api.ts';\nexport const U = D;\n",
      'runtime/src/checkpoint/restore.test.ts':
        "import { J } from '../exec/job.ts';\nimport { S } from '../control/server.ts';\nexport const T = [J, S];\n",
      'operator/src/runtime-client/client.ts':
        "import { K } from '../../../runtime/src/control/contract.ts';\nexport const O = K;\n",
      'operator/src/dashboard/graph.test.ts':
        "import { J } from '../../../runtime/src/exec/job.ts';\nexport const OT = J;\n",
    });
    expect(r.out).toContain('no dependency violations');
    expect(r.code).toBe(0);
  });

  it.each([
    ['runtime/src/api.ts', "import { X } from './testing/harness.ts';", 'runtime/src/testing/harness.ts'],
    [
      'operator/src/controllers/streamjob/reconcile.ts',
      "import { X } from './testing/fake-runtime.ts';",
      'operator/src/controllers/streamjob/testing/fake-runtime.ts',
    ],
  ])('fail when shipped code imports a testing/ folder (%s)', async (from, line, to) => {
    const r = await cruise({ [from]: `${line}\nexport const Y = X;\n`, [to]: 'export const X = 1;\n' });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('shipped-code-never-imports-testing');
  });

  it('pass tests and harnesses that import a testing/ folder', async () => {
    const r = await cruise({
      'runtime/src/testing/harness.ts': 'export const X = 1;\n',
      'runtime/src/testing/graphs.ts': "import { X } from './harness.ts';\nexport const G = X;\n",
      'runtime/src/exec/job.test.ts': "import { X } from '../testing/harness.ts';\nexport const T = X;\n",
      'operator/src/controllers/streamjob/testing/fake-runtime.ts': 'export const F = 1;\n',
      'operator/src/controllers/streamjob/reconcile.test.ts':
        "import { F } from './testing/fake-runtime.ts';\nexport const T = F;\n",
    });
    expect(r.out).toContain('no dependency violations');
    expect(r.code).toBe(0);
  });
});
