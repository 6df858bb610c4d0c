// The apiserver accepts every file in crds/examples/ and every manifest of examples/*/ as it is
// (`kubectl apply --dry-run=server`: admission, the CRDs' schemas and CEL rules, defaulting), in a
// namespace of its own. The README test (test/readme/) applies the clicks examples for real; the
// autoscaler's e2e runs examples/clicks-app/streamjob-scored.yaml.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster/paths.ts';

const ns = `examples-${randomUUID().slice(0, 8)}`;
const kubectl = (args: string[]) => spawnSync('kubectl', args, { encoding: 'utf8', env: process.env, timeout: 60_000 });
const yamlIn = (dir: string) =>
  readdirSync(join(repoRoot, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);
const examples = [
  ...yamlIn('crds/examples'),
  ...readdirSync(join(repoRoot, 'examples')).flatMap((app) => yamlIn(`examples/${app}`)),
];

describe('crds/examples on the apiserver', () => {
  beforeAll(() => {
    // Shared and cluster-scoped: applied as the other CRD tests do, never deleted.
    for (const crd of ['streamjobs.tributary.dev', 'druiddatasources.tributary.dev']) {
      const r = kubectl(['apply', '-f', join(repoRoot, 'crds', `${crd}.yaml`)]);
      expect(r.status, r.stderr).toBe(0);
      expect(kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}`]).status).toBe(0);
    }
    expect(kubectl(['create', 'namespace', ns]).status).toBe(0);
  });
  afterAll(() => {
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it.each(examples)('accepts %s (dry-run=server)', (file) => {
    const r = kubectl(['apply', '--dry-run=server', '-n', ns, '-f', join(repoRoot, file)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/created \(server dry run\)/);
    expect(r.stderr).not.toMatch(/warning/i);
  });
});
