// `tributary validate` as users run it (a child process on Node 24) on the example applications' manifests
// (examples/: application mode, no graph in the manifest; crds/examples/ is test/crds/examples.test.ts's) — each
// must be valid — and on one with a typo in a spec field, which the apiserver would prune: exit 2 naming the
// field (TRIB_MANIFEST_INVALID), where it used to be reported valid.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');

const validate = (file: string, ...args: string[]) =>
  spawnSync(node, ['runtime/src/cli/main.ts', 'validate', file, ...args], { cwd: root, encoding: 'utf8' });

/** Every YAML file under `dir` (recursively) that is a Tributary manifest. */
function manifests(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !f.includes('node_modules'))
    .map((f) => join(root, dir, f))
    .filter((f) => /^apiVersion: tributary\.dev\//m.test(readFileSync(f, 'utf8')))
    .map((f) => relative(root, f));
}

describe('tributary validate on the example applications and a typo', () => {
  const files = manifests('examples');

  it('finds them', () => {
    expect(files).toContain('examples/clicks-app/streamjob.yaml');
  });

  it.each(files)('%s is valid', (file) => {
    const r = validate(file);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}: valid \\(`));
    expect(r.status).toBe(0);
  });

  it('a spec field the apiserver would prune (a typo) exits 2 naming its path', () => {
    const text = readFileSync(join(root, 'crds/examples/clicks.yaml'), 'utf8');
    expect(text).toMatch(/^ {2}checkpointing:/m);
    const file = join(mkdtempSync(join(tmpdir(), 'trib-validate-')), 'typo.yaml');
    writeFileSync(file, text.replace(/^ {2}checkpointing:/m, '  checkpointng:'));
    const r = validate(file);
    expect(r.stderr).toContain('error TRIB_MANIFEST_INVALID');
    expect(r.stderr).toContain('spec.checkpointng: unknown field');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
    // A --set edit is checked as the file is.
    const set = validate('crds/examples/clicks.yaml', '--set', 'spec.autoscaler.maxReplica=3');
    expect(set.stderr).toContain('spec.autoscaler.maxReplica: unknown field');
    expect(set.status).toBe(2);
  });
});
