// Where the other slots of a deployment listen. Discovery only produces candidate data-plane
// addresses; which slot answers at an address, and whether it belongs to this deployment, is
// settled by the data-plane handshake (net/handshake.ts). So discovery may return addresses
// of stale pods (refused, retried next round) or fewer than p−1 addresses (retried until the
// connect timeout). A running slot finds the pod of a slot that joins in a live rescale by the
// deployment's selector plus SLOT_LABEL=<slot> (`kubernetesSlotFinder`).
import { readFile } from 'node:fs/promises';
import { Agent, request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { TributaryError } from '../errors.ts';
import { parseAddress } from '../net/dialer.ts';
import { SLOT_LABEL } from '../control/contract.ts';

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

export interface PodLike {
  metadata?: { name?: string; deletionTimestamp?: unknown; creationTimestamp?: string };
  status?: { podIP?: string; phase?: string };
}

/** Whether `p` can take connections: has a pod IP, is Running, is not being deleted. */
function reachable(p: PodLike): p is PodLike & { status: { podIP: string } } {
  return !!p.status?.podIP && p.status.phase === 'Running' && !p.metadata?.deletionTimestamp;
}

function address(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Addresses of pods that can take connections: have a pod IP, are Running, are not being deleted. */
export function podAddresses(pods: readonly PodLike[], port: number): string[] {
  const out = new Set<string>();
  for (const p of pods) if (reachable(p)) out.add(address(p.status.podIP, port));
  return [...out].sort();
}

/** The selector of slot `slot`'s pods among the deployment's (`selector`: TRIBUTARY_PEER_SELECTOR). */
export function slotSelector(selector: string, slot: number): string {
  return `${selector},${SLOT_LABEL}=${slot}`;
}

/**
 * The address of the newest pod of `pods` (one slot's) that can take connections, else undefined ("not yet"). Newest:
 * an older pod of the same slot still Running (one that left in a scale in, not yet gone) is not the joining one.
 */
export function newestPodAddress(pods: readonly PodLike[], port: number): string | undefined {
  const up = pods.filter(reachable);
  const at = (p: PodLike): number => Date.parse(p.metadata?.creationTimestamp ?? '') || 0;
  up.sort((a, b) => at(b) - at(a));
  return up[0] && address(up[0].status.podIP, port);
}

/** Lists the pods of a label selector (the namespace's, by the pod's service account). */
export type ListPods = (selector: string) => Promise<PodLike[]>;

/**
 * Lists the deployment's pods through the Kubernetes API with the pod's service account
 * (in-cluster config: KUBERNETES_SERVICE_HOST/PORT, the token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount; needs `list` on pods in the namespace).
 * Plain node:https, not @kubernetes/client-node: loading that library took ~0.5 s of every
 * slot process's start (measured on an idle machine), which is rescale downtime.
 */
export async function kubernetesDiscovery(o: KubernetesDiscoveryOptions): Promise<Discover> {
  const list = await kubernetesPodLister(o);
  return async () => podAddresses(await list(o.selector), o.port);
}

/**
 * Finds joining slot `slot`'s pod (a running slot's link order, join-link-order.ts): polls the deployment's selector
 * plus SLOT_LABEL=<slot> every `everyMs` until a pod of it is Running with an IP, or `deadline` passed (undefined).
 * A failed listing is retried too: the API server may be briefly away; `onError` hears of each.
 */
export function kubernetesSlotFinder(
  list: ListPods,
  o: { selector: string; port: number; everyMs?: number; onError?: (e: unknown) => void },
): (slot: number, deadline: number) => Promise<string | undefined> {
  return async (slot, deadline) => {
    for (;;) {
      try {
        const found = newestPodAddress(await list(slotSelector(o.selector, slot)), o.port);
        if (found) return found;
      } catch (e) {
        o.onError?.(e);
      }
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, Math.min(o.everyMs ?? 500, Math.max(1, deadline - Date.now()))));
    }
  };
}

/**
 * The in-cluster pod lister, made at its first use (and again after a failed attempt): a pod that never lists
 * (parallelism 1, never rescaled) starts without a service-account token, as before live rescale of pods.
 */
export function lazyPodLister(o: Omit<KubernetesDiscoveryOptions, 'selector' | 'port'>): ListPods {
  let made: Promise<ListPods> | undefined;
  return async (selector) => {
    made ??= kubernetesPodLister(o).catch((e: unknown) => {
      made = undefined;
      throw e;
    });
    return (await made)(selector);
  };
}

/** The in-cluster pod lister (kubernetesDiscovery's): fails at once when the pod has no in-cluster config. */
export async function kubernetesPodLister(o: Omit<KubernetesDiscoveryOptions, 'selector' | 'port'>): Promise<ListPods> {
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
  const agent = new Agent({ keepAlive: true, ca, maxSockets: 1 });
  return async (selector) => {
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(selector)}`;
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
      return list.items ?? [];
    } catch (e) {
      throw new TributaryError(
        'TRIB_PEER_DISCOVERY',
        `listing pods ${JSON.stringify(selector)} in ${ns} failed: ${(e as Error).message}`,
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
