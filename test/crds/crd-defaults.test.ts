// The StreamJob CRD's schema defaults are pinned. The apiserver fills a default into every stored
// object when it is read, so a default added to a field that changes a running job (checkpointing,
// graph, podTemplate, …: spec/fields.ts `redeploy`) changes the spec of every existing job at the
// next read, hence its spec hash, and an operator upgrade then redeploys them all (helm-upgrade.int
// catches it late and slowly). A field added later leaves the default to the runtime or operator
// (absent = default) instead; adding one here is a decision about existing jobs. A required field
// inside a defaulted object needs a default too, or the apiserver refuses the CRD itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

interface Schema {
  default?: unknown;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
}

function defaulted(s: Schema | undefined, path: string, out: string[]): string[] {
  if (!s) return out;
  if ('default' in s) out.push(path);
  for (const [k, v] of Object.entries(s.properties ?? {})) defaulted(v, `${path}.${k}`, out);
  defaulted(s.items, `${path}[]`, out);
  return out;
}

/**
 * Required fields the apiserver cannot fill into a defaulted object: it defaults an object's
 * fields inside its default too, then validates it, so each required field needs a default of
 * its own or a value in the object's default — else the CRD itself is refused.
 */
function unfillable(s: Schema | undefined, path: string, out: string[]): string[] {
  if (!s) return out;
  if (s.default !== undefined && typeof s.default === 'object' && s.default !== null)
    for (const r of s.required ?? [])
      if (!(r in s.default) && s.properties?.[r]?.default === undefined) out.push(`${path}.${r}`);
  for (const [k, v] of Object.entries(s.properties ?? {})) unfillable(v, `${path}.${k}`, out);
  unfillable(s.items, `${path}[]`, out);
  return out;
}

const PINNED = [
  'spec.replicas',
  'spec.maxParallelism',
  'spec.state',
  'spec.upgradeMode',
  'spec.restartNonce',
  'spec.savepointNonce',
  'spec.restore.allowNonRestoredState',
  'spec.checkpointing',
  'spec.checkpointing.interval',
  'spec.checkpointing.timeout',
  'spec.checkpointing.retained',
  'spec.stateBackend.type',
  'spec.stateStorage',
  'spec.stateStorage.path',
  'spec.savepoints',
  'spec.savepoints.timeout',
  'spec.savepoints.historyLimit',
  'spec.savepoints.onDelete',
  'spec.savepoints.onFailure',
  'spec.savepoints.maxCheckpointAge',
  'spec.restartPolicy',
  'spec.restartPolicy.maxRestarts',
  'spec.restartPolicy.backoff',
  'spec.restartPolicy.backoff.initial',
  'spec.restartPolicy.backoff.max',
];

describe('StreamJob CRD schema defaults', () => {
  it('are exactly the pinned ones: a new default would change every stored job and redeploy it', () => {
    const crd = parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'crds', 'streamjobs.tributary.dev.yaml'), 'utf8'),
    ) as {
      spec: { versions: { name: string; schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] };
    };
    for (const v of crd.spec.versions) {
      const spec = v.schema.openAPIV3Schema.properties.spec;
      expect(defaulted(spec, 'spec', []), `version ${v.name}`).toEqual(PINNED);
      expect(unfillable(spec, 'spec', []), `version ${v.name}: required fields no default fills`).toEqual([]);
    }
  });
});
