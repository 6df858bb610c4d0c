// Helpers for the node agent's integration tests: an admin API client from $KUBECONFIG and
// polling waits with a message that says what was awaited and what was last seen.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeAgentError, isApiStatus } from './errors.ts';
import { REPO_ROOT } from './image-map.ts';
import { KubeApi, loadKubeConfig } from './kube-api.ts';
import type { Pod } from './kube-types.ts';

export const NODE = join(REPO_ROOT, 'node_modules/.bin/node');
export const TESTDATA = join(REPO_ROOT, 'test/cluster/node-agent/testdata');

export async function adminApi(): Promise<KubeApi> {
  const file = process.env.KUBECONFIG;
  if (!file)
    throw new NodeAgentError(
      'NODE_AGENT_KUBECONFIG',
      'KUBECONFIG is not set: run under the integration project (global setup) or eval "$(npm run -s cluster -- env)"',
    );
  return KubeApi.fromKubeConfig(loadKubeConfig(file));
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new NodeAgentError(
    'NODE_AGENT_TIMEOUT',
    `timed out after ${timeoutMs}ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
  );
}

/** A fresh namespace with its `default` ServiceAccount and `kube-root-ca.crt` published. */
export async function createNamespace(api: KubeApi, prefix = 'na'): Promise<string> {
  const ns = `${prefix}-${randomUUID().slice(0, 8)}`;
  await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await waitFor(`ServiceAccount ${ns}/default and ConfigMap ${ns}/kube-root-ca.crt`, async () => {
    await api.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
    await api.get(`/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`);
    return true;
  });
  return ns;
}

export async function getPod(api: KubeApi, ns: string, name: string): Promise<Pod | undefined> {
  try {
    return await api.get<Pod>(`/api/v1/namespaces/${ns}/pods/${name}`);
  } catch (err) {
    if (isApiStatus(err, 404)) return undefined;
    throw err;
  }
}

export function waitForPod(
  api: KubeApi,
  ns: string,
  name: string,
  what: string,
  ok: (pod: Pod) => boolean,
  timeoutMs = 60_000,
): Promise<Pod> {
  return waitFor(
    `pod ${ns}/${name}: ${what}`,
    async () => {
      const pod = await getPod(api, ns, name);
      return pod && ok(pod) ? pod : false;
    },
    timeoutMs,
  );
}

export function waitForPodGone(api: KubeApi, ns: string, name: string, timeoutMs = 60_000): Promise<true> {
  return waitFor(
    `pod ${ns}/${name} to be gone`,
    async () => (await getPod(api, ns, name)) === undefined || false,
    timeoutMs,
    100,
  );
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A host folder for a pod's hostPath volume: how tests see what a pod wrote. */
export function hostDir(): string {
  return mkdtempSync(join(tmpdir(), 'na-it-'));
}
