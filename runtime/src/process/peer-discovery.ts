// Where the other slots of a deployment listen. Discovery only produces candidate data-plane
// addresses; which slot answers at an address, and whether it belongs to this deployment, is
// settled by the data-plane handshake (net/handshake.ts). So discovery may return addresses
// of stale pods (refused, retried next round) or fewer than p−1 addresses (retried until the
// connect timeout).
import { readFile } from 'node:fs/promises';
import { Agent, request, type RequestOptions } from 'node:https';
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
  if (new Set(out).size !== out.length)
    throw new TributaryError('TRIB_PEER_CONFIG', `peer list ${JSON.stringify(list)} repeats an address`);
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
 * (in-cluster config: KUBERNETES_SERVICE_HOST/PORT, the token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount; needs `list` on pods in the namespace).
 * Plain node:https, not @kubernetes/client-node: loading that library took ~0.5 s of every
 * slot process's start (measured on an idle machine), which is rescale downtime.
 */
export async function kubernetesDiscovery(o: KubernetesDiscoveryOptions): Promise<Discover> {
  const root = o.podRoot ?? '';
  const sa = (f: string): string => join(root, '/var/run/secrets/kubernetes.io/serviceaccount', f);
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = Number(process.env['KUBERNETES_SERVICE_PORT'] ?? 443);
  if (!host)
    throw new TributaryError(
      'TRIB_PEER_DISCOVERY',
      'cannot load the in-cluster Kubernetes config: KUBERNETES_SERVICE_HOST is unset',
    );
  let ca: Buffer;
  try {
    ca = await readFile(sa('ca.crt'));
    await readFile(sa('token'), 'utf8');
  } catch (e) {
    throw new TributaryError(
      'TRIB_PEER_DISCOVERY',
      `cannot load the in-cluster Kubernetes config (root ${JSON.stringify(root)}): ${(e as Error).message}`,
      { cause: e },
    );
  }
  let namespace = o.namespace;
  if (!namespace) {
    const file = sa('namespace');
    try {
      namespace = (await readFile(file, 'utf8')).trim();
    } catch (e) {
      throw new TributaryError('TRIB_PEER_DISCOVERY', `no namespace given and ${file} is unreadable`, { cause: e });
    }
  }
  const ns = namespace;
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(o.selector)}`;
  const agent = new Agent({ keepAlive: true, ca, maxSockets: 1 });
  return async () => {
    try {
      // Re-read per call: projected service-account tokens rotate.
      const token = (await readFile(sa('token'), 'utf8')).trim();
      const list = await getJson<{ items?: PodLike[] }>({
        host,
        port,
        path,
        agent,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
      return podAddresses(list.items ?? [], o.port);
    } catch (e) {
      throw new TributaryError(
        'TRIB_PEER_DISCOVERY',
        `listing pods ${JSON.stringify(o.selector)} in ${ns} failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  };
}

function getJson<T>(opts: RequestOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, method: 'GET', timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}
