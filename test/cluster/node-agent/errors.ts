// Every failure the node agent raises carries a stable code (`NODE_AGENT_...`) so that logs,
// tests and the pod status messages can be matched without parsing prose, and the original
// error as `cause` so nothing is lost when it is wrapped.

export type NodeAgentErrorCode =
  | 'NODE_AGENT_ARGS'
  | 'NODE_AGENT_KUBECONFIG'
  | 'NODE_AGENT_API'
  | 'NODE_AGENT_IMAGE_MAP'
  | 'NODE_AGENT_IMAGE_NOT_MAPPED'
  | 'NODE_AGENT_POD_CIDR'
  | 'NODE_AGENT_IP_EXHAUSTED'
  | 'NODE_AGENT_ENV'
  | 'NODE_AGENT_VOLUME'
  // What a volume should hold cannot be made (a missing ConfigMap, Secret or key, a file path
  // outside the volume); VolumeManager.sync wraps it in NODE_AGENT_VOLUME naming the volume.
  | 'NODE_AGENT_VOLUME_CONTENT'
  | 'NODE_AGENT_QUANTITY'
  | 'NODE_AGENT_TOKEN'
  | 'NODE_AGENT_SPAWN'
  // Container mode: a pod the kubelet would refuse to start (runAsNonRoot for a root image).
  | 'NODE_AGENT_SECURITY'
  // Container mode: the image is not in the local store (nothing is ever pulled).
  | 'NODE_AGENT_IMAGE_NOT_PRESENT'
  // Container mode: podman could not create or start the container (bad command, bad mount).
  | 'NODE_AGENT_CREATE_CONTAINER'
  | 'NODE_AGENT_PROBE'
  | 'NODE_AGENT_NODE_REGISTRATION'
  // The API server's route to a Service (service-proxy.ts) cannot be made: no such port, no
  // ready pod, a malformed CONNECT.
  | 'NODE_AGENT_SERVICE_PROXY'
  // Integration-test waits (int-helpers.ts) that ran out of time.
  | 'NODE_AGENT_TIMEOUT';

export class NodeAgentError extends Error {
  readonly code: NodeAgentErrorCode;
  /** HTTP status for `NODE_AGENT_API` errors; undefined otherwise. */
  readonly status: number | undefined;

  constructor(code: NodeAgentErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NodeAgentError';
    this.code = code;
    this.status = options?.status;
  }
}

export function isApiStatus(err: unknown, status: number): boolean {
  return err instanceof NodeAgentError && err.code === 'NODE_AGENT_API' && err.status === status;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
