import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPaths } from '../paths.ts';
import { startDetached, waitUntil, type Started } from '../process.ts';
import { apiserverUrl } from '../ports.ts';
import { AdminApi } from './kube-client.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { tokenOf, type Pki } from './pki.ts';

const component = 'kube-controller-manager';

/**
 * The real controllers: Deployments → ReplicaSets → Pods, garbage collection of owned
 * objects, namespace deletion, default ServiceAccounts, kube-root-ca.crt, node lifecycle.
 * Each controller uses its own service-account credentials, so RBAC is exercised as in a
 * real cluster.
 */
export async function startControllerManager(paths: ClusterPaths, pki: Pki): Promise<Started> {
  const kubeconfig = join(paths.dir, 'controller-manager.kubeconfig');
  writeKubeconfig(
    kubeconfig,
    apiserverUrl,
    pki.caCert,
    'system:kube-controller-manager',
    tokenOf(pki, 'system:kube-controller-manager'),
  );
  const p = startDetached(
    component,
    join(paths.kubeBin, 'kube-controller-manager'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--controllers=*',
      // Short sync periods make tests converge quickly; they cost nothing at this scale.
      '--node-monitor-grace-period=40s',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
    join(paths.logs, 'kube-controller-manager.log'),
  );
  const api = new AdminApi(readFileSync(pki.caCert), pki.adminToken);
  try {
    // Functional readiness: the serviceaccount and root-ca publisher controllers have acted.
    await waitUntil(
      p,
      'running its controllers (default ServiceAccount and kube-root-ca.crt in "default")',
      async () => {
        const sa = await api.get('/api/v1/namespaces/default/serviceaccounts/default');
        const ca = await api.get('/api/v1/namespaces/default/configmaps/kube-root-ca.crt');
        return sa.status === 200 && ca.status === 200;
      },
      90_000,
    );
  } finally {
    await api.close();
  }
  return p;
}
