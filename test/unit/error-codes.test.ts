// Every error code the shipped code can raise is documented for users: the runtime's in
// docs/runtime/architecture.md (restore refusals in docs/runtime/checkpoint-format.md), the
// operator's, its control-API client's and its Druid client's in docs/operator/errors.md. The
// codes are found by reading the source, so a new code fails this test until it is documented.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CODE = /['"`]((?:TRIB|OPERATOR|RUNTIME_ERR|DRUID_ERR)_[A-Z0-9_]+)['"`]/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' ? [] : sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function codesIn(files: string[]): Set<string> {
  const codes = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(CODE)) if (m[1]) codes.add(m[1]);
  return codes;
}

const docs = ['docs/runtime/architecture.md', 'docs/runtime/checkpoint-format.md', 'docs/operator/errors.md']
  .map((f) => readFileSync(join(repo, f), 'utf8'))
  .join('\n');

describe('error codes', () => {
  const codes = codesIn([...sources(join(repo, 'runtime/src')), ...sources(join(repo, 'operator/src'))]);

  it('are found in the source (the scan works)', () => {
    for (const known of [
      'TRIB_GRAPH_INVALID',
      'TRIB_RESTORE_CHECKSUM',
      'OPERATOR_KUBE_API',
      'RUNTIME_ERR_PROTOCOL',
      'DRUID_ERR_REJECTED',
    ])
      expect(codes).toContain(known);
  });

  it('are each documented as `CODE` in a table row', () => {
    const undocumented = [...codes].filter((c) => !docs.includes(`| \`${c}\` |`)).sort();
    expect(undocumented).toEqual([]);
  });
});
