// `tributary validate`'s check of the whole manifest, before its graph's: the manifest against its CRD's schema
// (graph/manifest-schema.ts), so that a field the apiserver would prune (a typo) is an error, not "valid".
// A manifest with no graph to check further — a DruidDatasource, or an application-mode StreamJob whose module
// builds its graph when it runs (spec.job) — is valid once its schema holds.
import { isObj } from '../graph/checker.ts';
import type { LoadedJob } from '../graph/load.ts';
import { checkManifest } from '../graph/manifest-schema.ts';

/**
 * Throws TRIB_MANIFEST_INVALID naming every field at fault; returns the line `validate` prints when nothing is
 * left to check, or undefined when the graph is to be validated next (a bare graph has no manifest to check).
 */
export function validateManifest(loaded: LoadedJob, file: string): string | undefined {
  const doc = loaded.manifest;
  if (!doc) return undefined;
  checkManifest(doc, file);
  if (doc['kind'] !== 'StreamJob') return `${file}: valid (${String(doc['kind'])})`;
  const spec = doc['spec'];
  if (isObj(spec) && spec['graph'] === undefined && isObj(spec['job']))
    return `${file}: valid (application mode: the module ${String(spec['job']['module'])} builds its graph when it runs)`;
  return undefined;
}
