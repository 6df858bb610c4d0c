import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { ClusterError } from '../errors.ts';
import { readState, writeState, type ClusterState } from '../state.ts';
import {
  assertPortFree,
  isAlive,
  killProcess,
  startDetached,
  stopProcess,
  waitUntil,
  type Started,
} from '../process.ts';
import { AdminApi } from './kube-client.ts';
import { ensurePki, type Pki } from './pki.ts';

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

function apiserverOfState(paths: ClusterPaths): { state: ClusterState; index: number } {
  const state = readState(paths);
  const index = state?.components.findIndex((c) => c.component === component) ?? -1;
  if (!state || index < 0) throw new ClusterError('CLUSTER_NOT_READY', component, 'not part of the running cluster');
  return { state, index };
}

/**
 * Stops the running cluster's kube-apiserver for real (its port closes): SIGKILL (a crash) or
 * SIGTERM (a clean shutdown). Resolves when the process is gone. The state file keeps naming
 * it, so `status` shows it STOPPED; `startStoppedApiserver` brings it back. etcd keeps every
 * object meanwhile. A test that stops it restarts it in a `finally`: every other component and
 * test of the cluster needs it.
 */
export async function stopApiserver(paths: ClusterPaths, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
  const { state, index } = apiserverOfState(paths);
  const p = state.components[index]!;
  if (signal === 'SIGKILL') await killProcess(p);
  else await stopProcess(p, 30_000);
}

/**
 * Freezes (SIGSTOP) or thaws (SIGCONT) the running cluster's kube-apiserver: a hung apiserver,
 * whose port still accepts connections (the kernel completes the handshake) but which answers
 * nothing. A test that freezes it thaws it in a `finally`.
 */
export function signalApiserver(paths: ClusterPaths, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const { state, index } = apiserverOfState(paths);
  const p = state.components[index]!;
  if (!isAlive(p)) throw new ClusterError('CLUSTER_NOT_RUNNING', component, `cannot ${signal} a stopped apiserver`);
  process.kill(p.pid, signal);
}

/**
 * Starts the kube-apiserver `stopApiserver` stopped, as `up` does (same flags, port and PKI),
 * and resolves when /readyz answers 200. When it runs (possibly frozen), thaws it and waits
 * for /readyz: safe in a test's `finally`.
 */
export async function startStoppedApiserver(paths: ClusterPaths): Promise<void> {
  const { state, index } = apiserverOfState(paths);
  const p = state.components[index]!;
  const pki = await ensurePki(paths.pki, join(paths.logs, 'pki.log'));
  if (isAlive(p)) {
    process.kill(p.pid, 'SIGCONT');
    const api = new AdminApi(readFileSync(pki.caCert), pki.adminToken);
    try {
      await waitUntil(p, 'ready (/readyz)', async () => (await api.get('/readyz')).status === 200, 120_000);
    } finally {
      await api.close();
    }
    return;
  }
  state.components[index] = await startApiserver(paths, pki);
  writeState(paths, state);
}
