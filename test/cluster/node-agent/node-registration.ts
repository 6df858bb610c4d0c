// Registers the Node and keeps it alive. The controller-manager's node lifecycle controller
// marks a node NotReady (and then taints it and evicts its pods) when neither its Lease in
// `kube-node-lease` nor its Ready condition heartbeat has been renewed within the node monitor
// grace period (40-50s). The agent renews the Lease every 10s (like the kubelet) and rewrites
// the node's conditions every 30s, so a single missed beat never matters.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import { NodeAgentError, errorMessage, isApiStatus } from './errors.ts';
import { MERGE_PATCH } from './kube-api.ts';
import type { KubeApi } from './kube-api.ts';
import type { Lease, Node } from './kube-types.ts';

export const LEASE_DURATION_SECONDS = 40;
const LEASE_RENEW_MS = 10_000;
const STATUS_RENEW_MS = 30_000;
export const AGENT_VERSION = '0.1.0';

export interface NodeRegistrationOptions {
  api: KubeApi;
  nodeName: string;
  podCidr: string;
  log: Logger;
}

/** RFC 3339 with microseconds, the wire format of `metav1.MicroTime` (Lease renewTime). */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** RFC 3339 without fractions, the wire format of `metav1.Time`. */
export function metaTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

export function nodeLabels(nodeName: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': goArch(),
    'node.tributary.dev/agent': 'true',
  };
}

export class NodeRegistration {
  readonly #opts: NodeRegistrationOptions;
  readonly #log: Logger;
  #nodeUid = '';
  #kubeletVersion = 'v0.0.0';
  #leaseTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #transitionTime = metaTime();

  constructor(opts: NodeRegistrationOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'node-registration' });
  }

  get nodeUid(): string {
    return this.#nodeUid;
  }

  /** Creates or updates the Node (labels, podCIDR, Ready status) and starts the heartbeats. */
  async register(): Promise<void> {
    const { api, nodeName } = this.#opts;
    try {
      const version = await api.get<{ gitVersion?: string }>('/version');
      if (version.gitVersion) this.#kubeletVersion = version.gitVersion;
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'cannot read /version; reporting v0.0.0 as kubelet version');
    }
    let node: Node;
    try {
      node = await api.post<Node>('/api/v1/nodes', this.#desiredNode());
      this.#log.info({ node: nodeName }, 'node registered');
    } catch (err) {
      if (!isApiStatus(err, 409)) {
        throw new NodeAgentError('NODE_AGENT_NODE_REGISTRATION', `cannot create node ${nodeName}`, { cause: err });
      }
      // Already registered (agent restart): bring labels and spec up to date. podCIDR is
      // immutable once set, so it is only patched when absent.
      const existing = await api.get<Node>(`/api/v1/nodes/${nodeName}`);
      const patch: Record<string, unknown> = { metadata: { labels: nodeLabels(nodeName) } };
      if (!existing.spec?.podCIDR) patch.spec = { podCIDR: this.#opts.podCidr, podCIDRs: [this.#opts.podCidr] };
      node = await api.patch<Node>(`/api/v1/nodes/${nodeName}`, patch);
      this.#log.info({ node: nodeName }, 'node already registered; updated');
    }
    this.#nodeUid = node.metadata?.uid ?? '';
    await this.#writeStatus();
    await this.#renewLease();
    this.#leaseTimer = setInterval(() => void this.#renewLease(), LEASE_RENEW_MS);
    this.#statusTimer = setInterval(() => void this.#writeStatus(), STATUS_RENEW_MS);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#leaseTimer);
    clearInterval(this.#statusTimer);
  }

  #desiredNode(): Node {
    const { nodeName, podCidr } = this.#opts;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels: nodeLabels(nodeName) },
      spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
      status: this.#desiredStatus(),
    };
  }

  #desiredStatus(): NonNullable<Node['status']> {
    const { nodeName } = this.#opts;
    const now = metaTime();
    const memoryKi = `${Math.floor(os.totalmem() / 1024)}Ki`;
    const resources = { cpu: '2', memory: memoryKi, pods: '110', 'ephemeral-storage': '100Gi' };
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.#transitionTime,
    });
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'node agent does not track memory pressure'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'node agent does not track disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'node agent does not track PID pressure'),
        condition('Ready', 'True', 'KubeletReady', 'tributary node agent is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: readOr('/etc/machine-id', 'tributary'),
        systemUUID: readOr('/etc/machine-id', 'tributary'),
        bootID: readOr('/proc/sys/kernel/random/boot_id', 'tributary'),
        kernelVersion: os.release(),
        osImage: `${os.type()} (tributary node agent)`,
        containerRuntimeVersion: `tributary-node-agent://${AGENT_VERSION}`,
        kubeletVersion: this.#kubeletVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: goArch(),
      },
    };
  }

  async #writeStatus(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#opts.api.patch(
        `/api/v1/nodes/${this.#opts.nodeName}/status`,
        { status: this.#desiredStatus() },
        MERGE_PATCH,
      );
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'node status heartbeat failed');
    }
  }

  async #renewLease(): Promise<void> {
    if (this.#stopped) return;
    const { api, nodeName } = this.#opts;
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`;
    const spec = { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime() };
    try {
      try {
        const lease = await api.get<Lease>(path);
        await api.put(path, { ...lease, spec: { ...lease.spec, ...spec } });
      } catch (err) {
        if (!isApiStatus(err, 404)) throw err;
        const lease: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: nodeName,
            namespace: 'kube-node-lease',
            ...(this.#nodeUid
              ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: this.#nodeUid }] }
              : {}),
          },
          spec,
        };
        await api.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease);
      }
    } catch (err) {
      // A conflict means someone else wrote in between; the next beat (10s) wins.
      this.#log.warn({ err: errorMessage(err) }, 'node lease renewal failed');
    }
  }
}
