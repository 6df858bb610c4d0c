// Where the other slots of a deployment listen. Discovery only produces candidate data-plane
// addresses; which slot answers at an address, and whether it belongs to this deployment, is
// settled by the data-plane handshake (net/handshake.ts). So discovery may return addresses
// of stale pods (refused, retried next round) or fewer than p−1 addresses (retried until the
// connect timeout).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TributaryError } from '../errors.ts';
import { parseAddress } from '../net/dialer.ts';

export type Discover = () => Promise<string[]>;

/** `--peers host:port,host:port,…` (slot order, own address included or not). */
export function parsePeerList(list: string): string[] {
  const out = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const a of out) parseAddress(a); // throws TRIB_PEER_CONFIG
  if (new Set(out).size !== out.length) throw new TributaryError('TRIB_PEER_CONFIG', `peer list ${JSON.stringify(list)} repeats an address`);
  return out;
}

export function staticDiscovery(addresses: readonly string[]): Discover {
  const copy = [...addresses];
  return () => Promise.resolve(copy);
}

export interface KubernetesDiscoveryOptions {
  /** Label selector of the deployment's pods (TRIBUTARY_PEER_SELECTOR). */
  selector: string;
  /** Namespace; default: the service account's namespace file. */
  namespace?: string;
  /** Data-plane port every pod listens on (contract DATA_PORT). */
  port: number;
  /** Prefix of the in-container service-account paths (TRIBUTARY_POD_ROOT under the node agent). */
  podRoot?: string;
}

interface PodLike {
  metadata?: { name?: string; deletionTimestamp?: unknown };
  status?: { podIP?: string; phase?: string };
}

/** Addresses of pods that can take connections: have a pod IP, are Running, are not being deleted. */
export function podAddresses(pods: readonly PodLike[], port: number): string[] {
  const out = new Set<string>();
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (!ip || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) continue;
    out.add(ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  }
  return [...out].sort();
}

/**
 * Lists the deployment's pods through the Kubernetes API with the pod's service account
 * (in-cluster config; needs `list` on pods in the namespace). The client library is loaded
 * only here: a local run never pays for it.
 */
export async function kubernetesDiscovery(o: KubernetesDiscoveryOptions): Promise<Discover> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  const root = o.podRoot ?? '';
  try {
    kc.loadFromCluster(root);
  } catch (e) {
    throw new TributaryError('TRIB_PEER_DISCOVERY', `cannot load the in-cluster Kubernetes config (root ${JSON.stringify(root)}): ${(e as Error).message}`, { cause: e });
  }
  let namespace = o.namespace;
  if (!namespace) {
    const file = join(root, '/var/run/secrets/kubernetes.io/serviceaccount/namespace');
    try {
      namespace = (await readFile(file, 'utf8')).trim();
    } catch (e) {
      throw new TributaryError('TRIB_PEER_DISCOVERY', `no namespace given and ${file} is unreadable`, { cause: e });
    }
  }
  const api = kc.makeApiClient(k8s.CoreV1Api);
  const ns = namespace;
  return async () => {
    try {
      const list = await api.listNamespacedPod({ namespace: ns, labelSelector: o.selector });
      return podAddresses(list.items as PodLike[], o.port);
    } catch (e) {
      const body = (e as { body?: unknown }).body;
      throw new TributaryError('TRIB_PEER_DISCOVERY', `listing pods ${JSON.stringify(o.selector)} in ${ns} failed: ${(e as Error).message}${body ? ` ${JSON.stringify(body).slice(0, 300)}` : ''}`, { cause: e });
    }
  };
}
