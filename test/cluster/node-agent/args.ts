// Command-line flags of the node agent (the contract with the cluster harness).
import { parseArgs } from 'node:util';
import { DEFAULT_BACKOFF } from './backoff.ts';
import type { BackoffConfig } from './backoff.ts';
import { NodeAgentError } from './errors.ts';

export interface AgentArgs {
  kubeconfig: string;
  nodeName: string;
  podsDir: string;
  logDir: string;
  podCidr: string;
  imageMap?: string;
  apiServer?: string;
  caFile?: string;
  backoff: BackoffConfig;
  shutdownGraceMs: number;
  serviceProxySocket?: string;
  /** Bind only pods whose nodeSelector names this node's hostname (a second node beside the cluster's own). */
  pinnedOnly: boolean;
  logLevel: string;
}

export const USAGE = `usage: node test/cluster/node-agent/main.ts --kubeconfig <file> --node-name <name>
  --pods-dir <dir> --log-dir <dir> --pod-cidr 127.0.1.0/24
  [--image-map <json>] [--api-server https://127.0.0.1:<port>] [--ca-file <ca.crt>]
  [--crash-backoff-base <seconds, default 1>] [--crash-backoff-max <seconds, default 30>]
  [--shutdown-grace <seconds: cap on pod grace when the agent stops, default 10>]
  [--service-proxy-socket <path: the API server's HTTP CONNECT route to Services>]
  [--pinned-only (bind only pods whose nodeSelector names this node's kubernetes.io/hostname)]
  [--log-level info]`;

function seconds(name: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0)
    throw new NodeAgentError('NODE_AGENT_ARGS', `--${name} must be a number of seconds: ${value}`);
  return n * 1000;
}

export function parseAgentArgs(argv: string[]): AgentArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        kubeconfig: { type: 'string' },
        'node-name': { type: 'string' },
        'pods-dir': { type: 'string' },
        'log-dir': { type: 'string' },
        'pod-cidr': { type: 'string' },
        'image-map': { type: 'string' },
        'api-server': { type: 'string' },
        'ca-file': { type: 'string' },
        'crash-backoff-base': { type: 'string' },
        'crash-backoff-max': { type: 'string' },
        'shutdown-grace': { type: 'string' },
        'service-proxy-socket': { type: 'string' },
        'log-level': { type: 'string' },
        'pinned-only': { type: 'boolean' },
      },
    }));
  } catch (cause) {
    throw new NodeAgentError('NODE_AGENT_ARGS', `${(cause as Error).message}\n${USAGE}`, { cause });
  }
  const required = (name: 'kubeconfig' | 'node-name' | 'pods-dir' | 'log-dir' | 'pod-cidr'): string => {
    const v = values[name];
    if (!v) throw new NodeAgentError('NODE_AGENT_ARGS', `--${name} is required\n${USAGE}`);
    return v;
  };
  const baseMs = seconds('crash-backoff-base', values['crash-backoff-base'], DEFAULT_BACKOFF.baseMs);
  const maxMs = seconds('crash-backoff-max', values['crash-backoff-max'], DEFAULT_BACKOFF.maxMs);
  return {
    kubeconfig: required('kubeconfig'),
    nodeName: required('node-name'),
    podsDir: required('pods-dir'),
    logDir: required('log-dir'),
    podCidr: required('pod-cidr'),
    ...(values['image-map'] ? { imageMap: values['image-map'] } : {}),
    ...(values['api-server'] ? { apiServer: values['api-server'] } : {}),
    ...(values['ca-file'] ? { caFile: values['ca-file'] } : {}),
    backoff: {
      baseMs,
      maxMs: Math.max(baseMs, maxMs),
      resetAfterMs: Math.max(DEFAULT_BACKOFF.resetAfterMs, 2 * maxMs),
    },
    shutdownGraceMs: seconds('shutdown-grace', values['shutdown-grace'], 10_000),
    ...(values['service-proxy-socket'] ? { serviceProxySocket: values['service-proxy-socket'] } : {}),
    pinnedOnly: values['pinned-only'] ?? false,
    logLevel: values['log-level'] ?? 'info',
  };
}
