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
  | 'NODE_AGENT_TOKEN'
  | 'NODE_AGENT_SPAWN'
  | 'NODE_AGENT_PROBE'
  | 'NODE_AGENT_NODE_REGISTRATION';

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
