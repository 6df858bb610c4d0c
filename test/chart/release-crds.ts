// TEST-ONLY: the chart's CRDs as a Helm release owns them, on a cluster other tests share.
// Helm adopts an existing CRD with a three-way merge patch whose "original" is its own
// manifest, so adopting a newer CRD leaves the newer schema's fields in place: an older
// release installed over the shared CRDs would not serve its older schema. These helpers put
// the older release's CRDs in place as that release would have created them, tell what a
// release's stored manifest says about them, and give the shared CRDs back their crds/ schema.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import {
  ErrorCodes,
  isNotFound,
  OperatorError,
  Resources,
  type KubeClient,
  type KubeObject,
} from '../../operator/src/kube/index.ts';
import { repoRoot } from '../cluster/paths.ts';

const run = promisify(execFile);

export const CRD_NAMES = ['streamjobs.tributary.dev', 'druiddatasources.tributary.dev'] as const;
export const KEEP = 'helm.sh/resource-policy';

export interface Crd extends KubeObject {
  spec: {
    versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[];
  } & Record<string, unknown>;
}
export interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
}

/** Runs a CLI (helm, kubectl); a failure carries its stderr. */
export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  const p = run(cmd, args, { env: process.env, maxBuffer: 64 << 20 });
  if (input !== undefined) p.child.stdin?.end(input);
  try {
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new OperatorError(
      ErrorCodes.TEST_HARNESS,
      `\`${cmd} ${args.join(' ')}\` failed: ${e.stderr || e.stdout || e.message}`,
      {
        cause: err,
      },
    );
  }
}

function crdsIn(manifest: string): Crd[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJS() as (Crd & { kind?: string }) | null)
    .filter((d): d is Crd & { kind: string } => d?.kind === 'CustomResourceDefinition');
}

/** The CRDs `chart` renders for `release` (helm template, the release's values). */
export async function renderedCrds(
  helm: string,
  chart: string,
  release: string,
  namespace: string,
  valuesFile: string,
): Promise<Crd[]> {
  return crdsIn(await sh(helm, ['template', release, chart, '-n', namespace, '-f', valuesFile]));
}

/** The CRDs in the manifest Helm stored for the installed release (what uninstall acts on). */
export async function releaseCrds(helm: string, release: string, namespace: string): Promise<Crd[]> {
  return crdsIn(await sh(helm, ['get', 'manifest', release, '-n', namespace]));
}

/**
 * Writes `crd` as `release` would have created it (its rendered object plus Helm's ownership
 * annotations), replacing whatever schema the shared cluster served: PUT, not a patch, so
 * fields a newer schema added are gone.
 */
export async function putAsRelease(kube: KubeClient, crd: Crd, release: string, namespace: string): Promise<void> {
  const name = crd.metadata?.name ?? '';
  const body: Crd = {
    ...crd,
    metadata: {
      ...crd.metadata,
      annotations: {
        ...crd.metadata?.annotations,
        'meta.helm.sh/release-name': release,
        'meta.helm.sh/release-namespace': namespace,
      },
    },
  };
  const live = await kube.get<Crd>(Resources.CustomResourceDefinition, undefined, name).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (!live) {
    await kube.create(Resources.CustomResourceDefinition, body);
    return;
  }
  body.metadata = { ...body.metadata, resourceVersion: live.metadata?.resourceVersion };
  await kube.replace(Resources.CustomResourceDefinition, body, { fieldManager: 'helm-upgrade-test' });
}

/**
 * Gives the shared CRDs the schema of the repository's crds/ (what every other test applies)
 * and drops what `release`, which no longer exists, put on them (ownership, keep policy, labels).
 */
export async function restoreRepoCrds(kube: KubeClient, release: string): Promise<void> {
  for (const name of CRD_NAMES) {
    const file = parse(readFileSync(join(repoRoot, 'crds', `${name}.yaml`), 'utf8')) as Crd;
    const live = await kube.get<Crd>(Resources.CustomResourceDefinition, undefined, name).catch(() => undefined);
    if (!live) {
      await kube.create(Resources.CustomResourceDefinition, file);
      continue;
    }
    const annotations = { ...live.metadata?.annotations };
    const labels = { ...live.metadata?.labels };
    if (annotations['meta.helm.sh/release-name'] === release) {
      delete annotations['meta.helm.sh/release-name'];
      delete annotations['meta.helm.sh/release-namespace'];
      delete annotations[KEEP];
      for (const k of Object.keys(labels))
        if (k.startsWith('app.kubernetes.io/') || k === 'helm.sh/chart') delete labels[k];
    }
    await kube.replace(
      Resources.CustomResourceDefinition,
      { ...live, metadata: { ...live.metadata, annotations, labels }, spec: file.spec },
      { fieldManager: 'test' },
    );
  }
}

/** The served version's schema of a StreamJob's `spec`. */
export function streamJobSpecSchema(crd: Crd): Schema {
  const v = crd.spec.versions.find((x) => x.name === 'v1alpha1');
  const spec = v?.schema?.openAPIV3Schema?.properties?.['spec'];
  if (!spec) throw new OperatorError(ErrorCodes.TEST_HARNESS, `${crd.metadata?.name}: no v1alpha1 spec schema`);
  return spec;
}
