// The chart renders its CRDs from files/crds/, a copy of the repository's crds/ made by
// `npm run generate` (operator/build/generate-crds.ts, which generates the CRDs from the API's
// types). A CRD edited in one place only would ship a chart whose schema
// differs from the operator's: this test fails then.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const source = join(root, 'crds');
const copy = join(root, 'charts', 'tributary', 'files', 'crds');
const yamlFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

describe('chart CRDs', () => {
  it('are the same files as crds/ (run npm run generate after editing the API types or crds/)', () => {
    expect(yamlFiles(copy)).toEqual(yamlFiles(source));
    for (const f of yamlFiles(source)) {
      expect(readFileSync(join(copy, f), 'utf8'), `charts/tributary/files/crds/${f} differs from crds/${f}`).toBe(
        readFileSync(join(source, f), 'utf8'),
      );
    }
  });
});
