// Helpers for integration tests against the real local kube-apiserver (KUBECONFIG is set by
// the vitest integration setup). Test-only; nothing in kube/ imports this.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KubeClient } from '../client.ts';
import { ErrorCodes, isNotFound, OperatorError } from '../errors.ts';
import { loadDefaultConnection } from '../kubeconfig.ts';
import { Resources, type KubeObject, type ResourceType } from '../api-resources.ts';

/** A client for the test cluster ($KUBECONFIG), optionally through another address (a fault proxy). */
export async function newClient(server?: string): Promise<KubeClient> {
  const conn = await loadDefaultConnection();
  return new KubeClient(server === undefined ? conn : { ...conn, server });
}

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  await client.create(Resources.Namespace, { metadata: { name, labels: { 'tributary.dev/test': 'operator-kube' } } });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.delete(Resources.Namespace, undefined, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new OperatorError(ErrorCodes.TEST_TIMEOUT, `timed out after ${timeoutMs} ms waiting for ${what}`, {
        cause: lastErr,
      });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface TestCrd {
  resource: ResourceType;
  apiVersion: string;
  remove(): Promise<void>;
}

/**
 * A namespaced CRD `<plural>.<group>` with a status subresource and an open schema, created
 * and waited for until Established.
 */
export async function createTestCrd(
  client: KubeClient,
  opts: { group: string; kind: string; plural: string },
): Promise<TestCrd> {
  const { group, kind, plural } = opts;
  const name = `${plural}.${group}`;
  const openObject = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  await client.create(Resources.CustomResourceDefinition, {
    metadata: { name },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: openObject, status: openObject } } },
        },
      ],
    },
  } as KubeObject);
  const resource: ResourceType = { group, version: 'v1', plural, kind, namespaced: true };
  await waitFor(`CRD ${name} established`, async () => {
    const crd = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
      Resources.CustomResourceDefinition,
      undefined,
      name,
    );
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  // Established can precede the endpoint being served; wait until a list works.
  await waitFor(
    `CRD ${name} served`,
    async () => (await client.list(resource, 'default')).items !== undefined,
    15_000,
    100,
  );
  return {
    resource,
    apiVersion: `${group}/v1`,
    remove: async () => {
      try {
        await client.delete(Resources.CustomResourceDefinition, undefined, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      await waitFor(
        `CRD ${name} gone`,
        async () => {
          try {
            await client.get(Resources.CustomResourceDefinition, undefined, name);
            return false;
          } catch (err) {
            return isNotFound(err);
          }
        },
        60_000,
        200,
      );
    },
  };
}

/**
 * Server-side applies `crds/<name>.yaml` of this checkout (harmless when already installed,
 * and it updates a CRD another test run installed from an older checkout).
 */
export async function applyRepoCrd(client: KubeClient, name: string): Promise<void> {
  const file = join(import.meta.dirname, '..', '..', '..', '..', 'crds', `${name}.yaml`);
  await client.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, {
    body: parse(readFileSync(file, 'utf8')),
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'test', force: true },
  });
}
