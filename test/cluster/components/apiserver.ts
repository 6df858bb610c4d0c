import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, startDetached, waitUntil, type Started } from '../process.ts';
import { AdminApi } from './kube-client.ts';
import type { Pki } from './pki.ts';

const component = 'kube-apiserver';

export async function startApiserver(paths: ClusterPaths, pki: Pki): Promise<Started> {
  await assertPortFree(component, ports.apiserver);
  const p = startDetached(
    component,
    join(paths.kubeBin, 'kube-apiserver'),
    [
      `--etcd-servers=http://${host}:${ports.etcdClient}`,
      `--bind-address=${host}`,
      `--advertise-address=${host}`,
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      // Cluster IPs are bookkeeping only: nothing routes them, and nothing is sent to them.
      '--service-cluster-ip-range=10.96.0.0/24',
      '--allow-privileged=true',
      // No endpoints for the `kubernetes` service: they would name a non-loopback address.
      '--endpoint-reconciler-type=none',
      // Webhooks (and aggregated APIs) named by a Service are called at one of the Service's
      // endpoint IPs (a pod's 127.0.1.x) instead of its cluster IP, which routes nowhere here.
      '--enable-aggregator-routing=true',
      '--profiling=false',
      '--v=1',
    ],
    join(paths.logs, 'kube-apiserver.log'),
  );
  const api = new AdminApi(readFileSync(pki.caCert), pki.adminToken);
  try {
    await waitUntil(p, 'ready (/readyz)', async () => (await api.get('/readyz')).status === 200, 120_000);
  } finally {
    await api.close();
  }
  return p;
}
