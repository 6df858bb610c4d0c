import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, startDetached, waitUntil, type Started } from '../process.ts';
import type { Pki } from './pki.ts';

const component = 'kube-apiserver';

export const apiserverUrl = `https://${host}:${ports.apiserver}`;

/** A dispatcher that trusts the cluster CA: every HTTP call to the apiserver goes through it. */
export function apiserverAgent(caCert: string): Agent {
  return new Agent({ connect: { ca: readFileSync(caCert) } });
}

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
      '--profiling=false',
      '--v=1',
    ],
    join(paths.logs, 'kube-apiserver.log'),
  );
  const dispatcher = apiserverAgent(pki.caCert);
  try {
    await waitUntil(p, 'ready (/readyz)', async () => {
      const res = await request(`${apiserverUrl}/readyz`, {
        dispatcher,
        headers: { authorization: `Bearer ${pki.adminToken}` },
      });
      await res.body.text();
      return res.statusCode === 200;
    }, 120_000);
  } finally {
    await dispatcher.close();
  }
  return p;
}
