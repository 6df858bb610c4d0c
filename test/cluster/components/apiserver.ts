import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, startDetached, waitUntil, type Started } from '../process.ts';
import { AdminApi } from './kube-client.ts';
import type { Pki } from './pki.ts';

const component = 'kube-apiserver';

export async function startApiserver(paths: ClusterPaths, pki: Pki): Promise<Started> {
  await assertPortFree(component, ports.apiserver);
  const egressConfig = join(paths.dir, 'egress-selector.yaml');
  writeFileSync(egressConfig, egressSelectorConfig(paths.serviceProxySocket));
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
      // Its "cluster" traffic (webhooks and aggregated APIs named by a Service, proxy
      // subresources) goes through the node agent's service proxy, which routes a cluster IP
      // to a ready pod. --enable-aggregator-routing (call an endpoint IP instead) cannot work
      // here: pod IPs are loopback, which Endpoints and EndpointSlices refuse.
      `--egress-selector-config-file=${egressConfig}`,
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

/** HTTP CONNECT over the node agent's Unix socket for "cluster" traffic; the rest is direct. */
function egressSelectorConfig(socket: string): string {
  return [
    'apiVersion: apiserver.k8s.io/v1beta1',
    'kind: EgressSelectorConfiguration',
    'egressSelections:',
    '  - name: cluster',
    '    connection:',
    '      proxyProtocol: HTTPConnect',
    '      transport:',
    `        uds: { udsName: ${JSON.stringify(socket)} }`,
    '',
  ].join('\n');
}
