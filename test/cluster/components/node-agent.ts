import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, type ClusterPaths } from '../paths.ts';
import { apiserverUrl, podCidr } from '../ports.ts';
import { startDetached, waitUntil, type Started } from '../process.ts';
import { AdminApi } from './kube-client.ts';
import type { Pki } from './pki.ts';
import type { PodRuntime } from '../pod-runtime.ts';

const component = 'node-agent';
export const nodeName = 'tributary-node';

/** Our kubelet stand-in (test/cluster/node-agent): runs pods as containers or local processes. */
export async function startNodeAgent(paths: ClusterPaths, pki: Pki, podRuntime: PodRuntime): Promise<Started> {
  mkdirSync(paths.podsDir, { recursive: true });
  const p = startDetached(
    component,
    process.execPath,
    [
      join(repoRoot, 'test/cluster/node-agent/main.ts'),
      `--kubeconfig=${paths.kubeconfig}`,
      `--node-name=${nodeName}`,
      `--pods-dir=${paths.podsDir}`,
      `--log-dir=${paths.logs}`,
      `--pod-cidr=${podCidr}`,
      `--api-server=${apiserverUrl}`,
      `--ca-file=${pki.caCert}`,
      `--service-proxy-socket=${paths.serviceProxySocket}`,
    ],
    join(paths.logs, 'node-agent.log'),
    { cwd: repoRoot, env: { ...process.env, TRIBUTARY_NODE_AGENT_RUNTIME: podRuntime } },
  );
  const api = new AdminApi(readFileSync(pki.caCert), pki.adminToken);
  try {
    await waitUntil(
      p,
      `registered Node ${nodeName} as Ready`,
      async () => {
        const res = await api.get(`/api/v1/nodes/${nodeName}`);
        if (res.status !== 200) return false;
        const node = res.body as { status?: { conditions?: { type: string; status: string }[] } };
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      60_000,
    );
  } finally {
    await api.close();
  }
  return p;
}
