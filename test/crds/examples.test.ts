// Every file in crds/examples/ is something a user applies or runs as it is: each StreamJob
// and DruidDatasource passes `tributary validate` (the runtime's validator, run as the CLI a user runs: the
// whole manifest against its CRD's schema, a StreamJob's graph further), every other file parses as the kind it
// must be, and none names a namespace (the README applies
// them to the user's current one). examples.int.test.ts has the apiserver accept them all.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const node = join(root, 'node_modules/.bin/node');
const examples = readdirSync(join(root, 'crds/examples'))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

/** The kinds an example may be besides StreamJob, with their apiVersion. */
const otherKinds: Record<string, string> = {
  DruidDatasource: 'tributary.dev/v1alpha1',
  PersistentVolumeClaim: 'v1',
};

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

function manifests(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(root, 'crds/examples', file), 'utf8'));
  for (const d of docs) expect(d.errors, `${file}: YAML errors`).toEqual([]);
  return docs.map((d) => d.toJS() as Manifest | null).filter((m): m is Manifest => m !== null);
}

describe('crds/examples', () => {
  it('holds the examples the README and the docs use', () => {
    expect(examples).toEqual(
      expect.arrayContaining([
        'clicks.yaml',
        'clicks-feed.yaml',
        'clicks-tail.yaml',
        'clicks-local.yaml',
        'clicks-ds.yaml',
      ]),
    );
  });

  it('clicks.yaml names no stateStorage: the operator default supplies it (README, "On Kubernetes")', () => {
    const [m] = manifests('clicks.yaml') as (Manifest & { spec?: Record<string, unknown> })[];
    expect(m?.spec).toBeDefined();
    expect(m?.spec).not.toHaveProperty('stateStorage');
  });

  it.each(examples)('%s: one named manifest of a known kind, no namespace', (file) => {
    const [m, ...more] = manifests(file);
    expect(more).toEqual([]);
    expect(m?.metadata?.name).toBeTruthy();
    expect(m?.metadata?.namespace).toBeUndefined();
    if (m?.kind === 'StreamJob') expect(m.apiVersion).toBe('tributary.dev/v1alpha1');
    else expect(otherKinds[m?.kind ?? '']).toBe(m?.apiVersion);
  });

  // Every Tributary kind: validate checks the whole manifest against its CRD, a StreamJob's graph further.
  const ours = examples.filter((f) => manifests(f)[0]?.apiVersion?.startsWith('tributary.dev/'));
  it.each(ours)('%s: passes `tributary validate`', (file) => {
    const r = spawnSync(node, ['runtime/src/cli/main.ts', 'validate', `crds/examples/${file}`], {
      cwd: root,
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const what = manifests(file)[0]?.kind === 'StreamJob' ? '\\d+ nodes' : 'DruidDatasource';
    expect(r.stdout).toMatch(new RegExp(`crds/examples/${file.replace('.', '\\.')}: valid \\(${what}\\)`));
  });
});
